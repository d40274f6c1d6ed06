"""Benchmark file uploads: what deciding the type (and removing location data) costs.

``python -m bench.files [--database-url URL] [--rounds 20]`` builds a test app (a fresh
SQLite file, or the PostgreSQL database given, emptied), then through the API's test
client, in the same run:

1. the baseline: a 1 MB UTF-8 text file (checked as text only);
2. a 1 MB JPEG without metadata (decoded by Pillow, stored as sent);
3. the same JPEG with EXIF GPS and XMP (decoded and re-encoded without them);
4. a HEIC photo of the same pixels (decoded by pillow-heif, stored as JPEG);
5. listing 50 files of 1 MB against 50 of 1 KB: a list must not read the bytes.

It prints p50/p90 per upload, the added time against the baseline, and the peak Python
memory (tracemalloc) of one upload of each kind.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.support.app import build_app, close_app
from tests.support.clients import ApiUser, AuthActions
from tests.support.files import GPS, GPS_IFD, XMP_GPS, upload_file

MB = 1024 * 1024


def noise_jpeg(target: int = MB, **save: Any) -> tuple[bytes, Image.Image]:
    """A JPEG of random pixels close to ``target`` bytes, and its pixels."""
    side = int((target / 0.9) ** 0.5)  # random pixels at quality 90: about 0.9 bytes each
    pixels = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **save)
    return out.getvalue(), image


def samples() -> dict[str, bytes]:
    """The files uploaded: name -> bytes."""
    plain, image = noise_jpeg()
    exif = Image.Exif()
    exif[GPS_IFD] = GPS
    located, _ = noise_jpeg(exif=exif.tobytes(), xmp=XMP_GPS)
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    image.save(heic, "HEIF", quality=90)
    text = (b"The quick brown fox jumps over the lazy dog. " * (MB // 45 + 1))[:MB]
    return {
        "text.txt": text,
        "photo.jpg": plain,
        "located.jpg": located,
        "photo.heic": heic.getvalue(),
    }


def timed(call: Callable[[], Any], rounds: int) -> list[float]:
    """Milliseconds of each of ``rounds`` calls (one warm-up first)."""
    call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def peak_kib(call: Callable[[], Any]) -> float:
    """Peak Python memory (KiB) allocated during one call."""
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def upload_once(user: ApiUser, name: str, data: bytes) -> Callable[[], Any]:
    """A call uploading ``data`` as ``name`` and deleting it again (the quota stays free)."""

    def call() -> None:
        response = upload_file(user, name, data)
        assert response.status_code == 201, response.json
        user.call("DELETE", f"/api/v1/files/{response.json['id']}")

    return call


def list_cost(user: ApiUser, size: int, rounds: int) -> list[float]:
    """Milliseconds to list 50 files of ``size`` bytes (uploaded first, deleted after)."""
    ids = [upload_file(user, f"{n}.txt", b"x" * size).json["id"] for n in range(50)]
    times = timed(lambda: user.call("GET", "/api/v1/files?limit=50"), rounds)
    for key in ids:
        user.call("DELETE", f"/api/v1/files/{key}")
    return times


def report(label: str, times: list[float], baseline: float | None, peak: float | None) -> None:
    """Print one row."""
    p50, p90 = statistics.median(times), statistics.quantiles(times, n=10)[-1]
    added = f"{p50 - baseline:+8.1f} ms" if baseline is not None else "   (base)"
    memory = f"{peak:9.0f} KiB" if peak is not None else ""
    print(f"{label:28} p50 {p50:7.1f} ms  p90 {p90:7.1f} ms  {added}  {memory}")


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        config = {"RATELIMIT_ENABLED": False, "FILES_MAX_BYTES": 4 * MB}
        app = build_app(url, **config)
        client = app.test_client()
        user = ApiUser(client, AuthActions(app, client).headers("alice"))
        files = samples()
        print(
            f"database: {url.split(':')[0]}; sizes: "
            + ", ".join(f"{n} {len(d)} B" for n, d in files.items())
        )
        baseline = None
        for name, data in files.items():
            call = upload_once(user, name, data)
            times = timed(call, args.rounds)
            report(f"upload {name}", times, baseline, peak_kib(call))
            baseline = statistics.median(times) if baseline is None else baseline
        small = list_cost(user, 1024, args.rounds)
        report("list 50 files of 1 KB", small, None, None)
        report(
            "list 50 files of 1 MB",
            list_cost(user, MB, args.rounds),
            statistics.median(small),
            None,
        )
        close_app(app)


if __name__ == "__main__":
    main()
