"""Benchmark turns with a 1 MB image against turns without, same run, under gunicorn.

``python -m bench.attachments [--database-url URL] [--rounds 30]`` runs chatapp under
gunicorn (one worker, ``--threads`` threads) against the local Gemini wire server, on a
fresh SQLite file (and the PostgreSQL database given, with ``--database-url``). Each round,
one client, alternating kinds so both see the same machine:

- **text**: a new conversation's first turn, then its second turn (the baseline);
- **image**: a new conversation's first turn with a freshly uploaded 1 MB JPEG (sent as an
  inline part, read back from the database with the turn), then its second turn, text only,
  which sends the image again from the stored history.

Prints p50/p99 of each kind and what the image adds, the upload's own time (type check,
location scrub and ``countTokens``, not part of a turn), and the worker's RSS before and
after. Verdict: the image adds at most ``ADDED_MS`` ms at p50 to either turn and the worker
grows by at most ``GROWTH_MB`` MB over the run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from bench import harness
from bench.files import noise_jpeg

ADDED_MS = 100.0
GROWTH_MB = 64.0
KINDS = ("text first", "image first", "text second", "image second")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=4, help="threads of the one worker")
    parser.add_argument("--database-url", default="", help="also run on this PostgreSQL")
    return parser.parse_args(argv)


def turn(http: httpx2.Client, body: dict[str, Any]) -> tuple[float, str]:
    """One ``POST /api/v1/chat/message``: seconds taken, and the conversation's id."""
    start = time.perf_counter()
    response = http.post("/api/v1/chat/message", json=body)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, response.json()["sessionId"]


def conversation(http: httpx2.Client, image: bytes | None, times: dict[str, list[float]]) -> None:
    """Two turns of a new conversation, the first with ``image`` attached if given."""
    kind = "image" if image is not None else "text"
    body: dict[str, Any] = {"message": "What is in this picture? Describe it briefly."}
    if image is not None:
        start = time.perf_counter()
        uploaded = http.post("/api/v1/files", files={"file": ("photo.jpg", image, "image/jpeg")})
        times["upload"].append(time.perf_counter() - start)
        uploaded.raise_for_status()
        body["attachments"] = [uploaded.json()["id"]]
    elapsed, session_id = turn(http, body)
    times[f"{kind} first"].append(elapsed)
    elapsed, _ = turn(http, {"message": "And what colour is it mostly?", "sessionId": session_id})
    times[f"{kind} second"].append(elapsed)


def measure(database_url: str, wire_url: str, tmp: Path, args: Any) -> dict[str, Any]:
    """Run the rounds against one database; the latencies and the worker's memory."""
    env = harness.app_environment(database_url, wire_url)
    token = harness.prepare_database(env)
    image, _ = noise_jpeg()
    times: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "upload")}
    with harness.gunicorn_process(env, tmp, 1, args.threads) as (base, server):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=base, headers=headers, timeout=120) as http:
            warm: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "upload")}
            for _ in range(3):
                conversation(http, None, warm)
                conversation(http, image, warm)
            before = max(harness.worker_rss_mb(server.pid))
            for _ in range(args.rounds):
                conversation(http, None, times)
                conversation(http, image, times)
            after = max(harness.worker_rss_mb(server.pid))
    return {"times": times, "before": before, "after": after, "size": len(image)}


def report(name: str, result: dict[str, Any]) -> bool:
    """Print one database's results; whether they meet the targets."""
    times = result["times"]
    print(f"{name}: {len(times['text first'])} rounds, image {result['size']} bytes")
    for kind in (*KINDS, "upload"):
        print(f"  {kind:13} {harness.summary_ms(times[kind])}")
    ok = True
    for step in ("first", "second"):
        text, image = times[f"text {step}"], times[f"image {step}"]
        added = {p: (harness.percentile(image, p) - harness.percentile(text, p)) * 1000
                 for p in (50, 99)}  # fmt: skip
        ok &= added[50] <= ADDED_MS
        print(f"  the image adds to the {step} turn: p50 {added[50]:+.1f} ms, "
              f"p99 {added[99]:+.1f} ms")  # fmt: skip
    growth = result["after"] - result["before"]
    ok &= growth <= GROWTH_MB
    print(f"  worker RSS {result['before']:.0f} MB after warm-up, {result['after']:.0f} MB "
          f"after the run ({growth:+.0f} MB)")  # fmt: skip
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on SQLite (and PostgreSQL if given) and print a verdict."""
    args = parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="chatapp-attach-") as name:
        tmp = Path(name)
        with harness.wire_server(tmp) as wire_url:
            databases = {"SQLite": f"sqlite:///{tmp / 'attach.db'}"}
            if args.database_url:
                databases["PostgreSQL"] = args.database_url
            for label, url in databases.items():
                ok &= report(label, measure(url, wire_url, tmp, args))
    print(
        f"verdict: a 1 MB image adds <= {ADDED_MS:.0f} ms at p50 to its turn and the next, "
        f"worker growth <= {GROWTH_MB:.0f} MB: {'met' if ok else 'NOT met'}; "
        f"load {harness.load()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
