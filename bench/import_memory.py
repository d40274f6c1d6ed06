"""Benchmark importing a large export: peak memory growth and time, against json.load.

``python -m bench.import_memory --size-mb 100 [--database-url URL] [--json out.json]``

1. writes a chatapp export of about ``--size-mb`` MB to a temporary file, one
   conversation at a time (20 messages of ~2.5 KB each per conversation);
2. baseline, in a child process: ``json.load`` of the same file (what a naive import would
   hold in memory before storing anything), its peak memory growth;
3. in another child process: the app's streamed import of the file for one user on a fresh
   database (a SQLite file, or ``--database-url``), its peak memory growth, time, counts.

Peak growth is of the process's anonymous memory (``RssAnon``: what it allocates), sampled
every few milliseconds from just before the measured work, so app start-up does not count.
File-backed pages are left out: SQLite memory-maps its database file (``PRAGMA mmap_size``),
and the pages an import writes there are the operating system's page cache, counted in RSS
but shared and reclaimable, not memory the import holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MESSAGES = 20
TEXT = 2500  # characters per message


def write_export(path: Path, size_mb: float) -> int:
    """Write a chatapp export of about ``size_mb`` MB; return its conversation count."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"format": "chatapp.export", "version": 1, ')
        out.write(f'"exportedAt": "{start.isoformat()}", "conversations": [\n')
        while out.tell() < size_mb * 1024 * 1024:
            out.write((",\n" if count else "") + json.dumps(conversation(count, start)))
            count += 1
        out.write("\n]}\n")
    return count


def conversation(number: int, start: datetime) -> dict[str, Any]:
    """One conversation of the benchmark file, distinct from every other."""
    began = start + timedelta(minutes=number)
    words = f"conversation {number} " + "lorem ipsum dolor sit amet " * (TEXT // 27)
    return {
        "title": f"Conversation {number}",
        "createdAt": began.isoformat(),
        "updatedAt": (began + timedelta(seconds=MESSAGES)).isoformat(),
        "messages": [
            {
                "role": "user" if index % 2 == 0 else "assistant",
                "content": f"{index}: {words}",
                "createdAt": (began + timedelta(seconds=index)).isoformat(),
                "model": None if index % 2 == 0 else "gemini-bench",
            }
            for index in range(MESSAGES)
        ],
    }


class PeakAnon:
    """The peak growth of this process's anonymous memory while the block runs (sampled)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.growth = 0
        self._done = threading.Event()

    def __enter__(self) -> PeakAnon:
        self._before = status_bytes("RssAnon")
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._take()

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self._take()

    def _take(self) -> None:
        self.growth = max(self.growth, status_bytes("RssAnon") - self._before)


def status_bytes(field: str) -> int:
    """A memory figure of ``/proc/self/status`` (``RssAnon``, ``VmRSS``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def measure_json_load(path: str) -> dict[str, Any]:
    """Child process: the peak growth of ``json.load`` of the file (the baseline)."""
    began = time.perf_counter()
    with PeakAnon() as peak, open(path, "rb") as file:
        data = json.load(file)
    seconds = time.perf_counter() - began
    return {"growth": peak.growth, "seconds": seconds, "n": len(data)}


def measure_import(path: str, database_url: str) -> dict[str, Any]:
    """Child process: the peak growth and time of the app's import of the file."""
    from chatapp.services import accounts, transfer
    from tests.support.app import build_app, close_app

    app = build_app(database_url, RATELIMIT_ENABLED=False)
    with app.app_context():
        user = accounts.find_user("alice")
        began = time.perf_counter()
        with PeakAnon() as peak, open(path, "rb") as file:
            report = transfer.import_file(user, file)
        seconds = time.perf_counter() - began
    close_app(app)
    counts = {"imported": report.imported, "skipped": report.skipped, "failed": report.failed}
    return {"growth": peak.growth, "seconds": seconds, **counts}


def child(kind: str, path: Path, database_url: str = "") -> dict[str, Any]:
    """Run one measurement in a fresh Python process and return its result."""
    code = (
        "import json, sys; from bench import import_memory as m; "
        f"print(json.dumps(m.measure_{kind}(*sys.argv[1:])))"
    )
    args = [str(path)] + ([database_url] if database_url else [])
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Write the file, measure both, print (and optionally save) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        conversations = write_export(path, options.size_mb)
        size = path.stat().st_size
        url = options.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        baseline = child("json_load", path)
        streamed = child("import", path, url)
    mb = 1024 * 1024
    print(f"file: {size / mb:.1f} MB, {conversations} conversations of {MESSAGES} messages")
    print(f"json.load (baseline): peak growth {baseline['growth'] / mb:.0f} MB")
    print(
        f"import ({url.split(':')[0]}): peak growth {streamed['growth'] / mb:.0f} MB, "
        f"{streamed['seconds']:.1f} s, {streamed['imported']} imported, "
        f"{streamed['failed']} failed"
    )
    if options.json:
        results = {"size": size, "conversations": conversations}
        options.json.write_text(json.dumps({**results, "json_load": baseline, "import": streamed}))


if __name__ == "__main__":
    main()
