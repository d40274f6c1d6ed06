"""Streaming benchmark: first byte and total time, many open streams, stop latency.

    .venv/bin/python -m bench.streams [--streams 100 500] [--workers 2] [--threads 300]

(a) A streamed turn through chatapp against the raw google-genai SDK stream, both talking
    to the same local Gemini server (no delay): time to the first content and to the end.
(b) N conversations stream at once while the local server sends a chunk every
    ``--interval`` seconds: how many complete, and the delay chatapp adds between chunks
    (the gap each client sees minus the interval), next to the same clients reading the
    local server's own stream directly (the baseline, measured in the same run).
(c) Stop: the time from ``POST .../stop`` to the stream's ``end`` event.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
from google import genai
from google.genai import types

from bench import harness

MODEL = "gemini-bench"  # what harness.app_environment configures


async def sse_events(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON ``data:`` events of a streamed response."""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def http(base: str, token: str, streams: int, keepalive: bool = True) -> httpx2.AsyncClient:
    """An HTTP client for ``streams`` concurrent streams to chatapp.

    Without ``keepalive`` every request gets a fresh connection: a kept-alive connection
    left idle longer than gunicorn's ``keepalive`` may be closed by the server just as the
    client sends its next request on it (the client then reads a reset before any
    response; docs/benchmarks.md), which would be counted as a failed stream.
    """
    idle = streams + 10 if keepalive else 0
    limits = httpx2.Limits(max_connections=streams + 10, max_keepalive_connections=idle)
    return httpx2.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(120),
        limits=limits,
    )


async def chat_stream(client: httpx2.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Stream one turn; return its timings (seconds) and events."""
    started = time.perf_counter()
    arrivals: list[float] = []
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    status = None
    try:
        async with client.stream("POST", "/api/v1/chat/message/stream", json=body) as response:
            status = response.status_code
            if status != 200:
                await response.aread()
                return {"last": {"status": status, "body": response.text[:300]}}
            async for event in sse_events(response):
                if event["type"] == "content":
                    arrivals.append(time.perf_counter())
                first = first or event
                last = event
    except httpx2.TransportError as exc:
        where = f"after {len(arrivals)} chunks" if status else "before any response"
        raise RuntimeError(f"{exc!r} {where}") from exc
    return {
        "started": started,
        "arrivals": arrivals,
        "end": time.perf_counter(),
        "session": first.get("sessionId"),
        "last": last,
    }


async def new_conversation(client: httpx2.AsyncClient) -> str:
    """Start a conversation with one complete turn (so later turns skip the title)."""
    result = await chat_stream(client, {"message": "Warm-up turn"})
    if result["last"].get("type") != "end":
        raise RuntimeError(f"warm-up turn failed: {result['last']}")
    return result["session"]


def latency(base: str, token: str, gemini_url: str, turns: int) -> dict[str, list[float]]:
    """(a) First content and total time per turn: chatapp's stream vs the raw SDK's."""

    async def through_chatapp() -> tuple[list[float], list[float]]:
        async with http(base, token, 1) as client:
            session_id = await new_conversation(client)
            first, total = [], []
            for _ in range(turns):
                run = await chat_stream(client, {"message": "Hello", "sessionId": session_id})
                first.append(run["arrivals"][0] - run["started"])
                total.append(run["end"] - run["started"])
            return first, total

    chat_first, chat_total = asyncio.run(through_chatapp())
    sdk = genai.Client(
        api_key="bench-key",
        http_options=types.HttpOptions(base_url=gemini_url, api_version="v1beta"),
    )
    sdk_first, sdk_total, history = [], [], []
    for _ in range(turns + 1):
        history.append(types.Content(role="user", parts=[types.Part(text="Hello")]))
        started = time.perf_counter()
        parts = []
        for chunk in sdk.models.generate_content_stream(model=MODEL, contents=history):
            if not parts:
                sdk_first.append(time.perf_counter() - started)
            parts.append(chunk.text or "")
        sdk_total.append(time.perf_counter() - started)
        history.append(types.Content(role="model", parts=[types.Part(text="".join(parts))]))
    return {
        "chatapp first": chat_first,
        "chatapp total": chat_total,
        "sdk first": sdk_first[1:],
        "sdk total": sdk_total[1:],
    }


def gaps(arrivals: list[float]) -> list[float]:
    """The time between consecutive chunks."""
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


async def many_chatapp(base: str, token: str, count: int) -> tuple[int, list[float]]:
    """(b) ``count`` concurrent streams through chatapp: completed, and chunk gaps.

    The warm-up turns end over several seconds under load, so their connections would sit
    idle past gunicorn's keep-alive before the measured streams reuse them: each stream
    opens its own connection instead.
    """
    async with http(base, token, count, keepalive=False) as client:
        warm = await asyncio.gather(
            *(new_conversation(client) for _ in range(count)), return_exceptions=True
        )
        sessions = [s for s in warm if isinstance(s, str)]
        runs = [s for s in warm if not isinstance(s, str)]  # failed warm-ups count as failed
        runs += await asyncio.gather(
            *(chat_stream(client, {"message": "Go", "sessionId": s}) for s in sessions),
            return_exceptions=True,
        )
    done = [r for r in runs if isinstance(r, dict) and r["last"].get("type") == "end"]
    for run in runs:
        if run not in done:
            print("  failed stream:", repr(run) if isinstance(run, BaseException) else run["last"])
    return len(done), [gap for run in done for gap in gaps(run["arrivals"])]


async def many_raw(gemini_url: str, count: int) -> tuple[int, list[float]]:
    """The baseline: the same clients reading the local server's SSE stream directly."""
    url = f"{gemini_url}/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    body = {"contents": [{"role": "user", "parts": [{"text": "Go"}]}]}
    limits = httpx2.Limits(max_connections=count + 10)

    async def one(client: httpx2.AsyncClient) -> list[float]:
        arrivals = []
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    arrivals.append(time.perf_counter())
        return arrivals

    async with httpx2.AsyncClient(timeout=120, limits=limits) as client:
        runs = await asyncio.gather(*(one(client) for _ in range(count)), return_exceptions=True)
    done = [r for r in runs if isinstance(r, list)]
    return len(done), [gap for run in done for gap in gaps(run)]


async def stop_latency(base: str, token: str, repeats: int) -> list[float]:
    """(c) Seconds from sending a stop to receiving the stream's ``end``."""
    results = []
    async with http(base, token, 2) as client:
        for _ in range(repeats):
            session_id = await new_conversation(client)
            body = {"message": "A long one", "sessionId": session_id}
            async with client.stream("POST", "/api/v1/chat/message/stream", json=body) as stream:
                seen = 0
                async for event in sse_events(stream):
                    if event["type"] == "content":
                        seen += 1
                        if seen == 3:
                            sent = time.perf_counter()
                            await client.post(f"/api/v1/chat/session/{session_id}/stop")
                    elif event["type"] == "end":
                        assert event.get("stopped"), event
                        results.append(time.perf_counter() - sent)
    return results


def main() -> None:
    """Run (a), (b) and (c) and print a Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between chunks")
    parser.add_argument("--chunks", type=int, default=20, help="chunks per streamed reply")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=300, help="gunicorn threads per worker")
    parser.add_argument("--turns", type=int, default=50, help="turns measured in (a)")
    parser.add_argument("--stops", type=int, default=20, help="stops measured in (c)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the app (optional)")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as tmp_dir:
        tmp = args.logs or Path(tmp_dir)
        tmp.mkdir(parents=True, exist_ok=True)
        db_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        print(f"# Streaming: {args.workers} gthread workers x {args.threads} threads, {db_url}\n")
        with harness.wire_server(tmp, 0.0, args.chunks) as fast:
            env = harness.app_environment(db_url, fast, args.redis_url)
            token = harness.prepare_database(env)
            with harness.gunicorn(env, tmp, args.workers, args.threads) as base:
                report_latency(latency(base, token, fast, args.turns))
        with harness.wire_server(tmp, args.interval, args.chunks) as paced:
            env = harness.app_environment(db_url, paced, args.redis_url)
            with harness.gunicorn(env, tmp, args.workers, args.threads) as base:
                for count in args.streams:
                    report_many(count, args.interval, base, token, paced)
                stops = asyncio.run(stop_latency(base, token, args.stops))
                print(f"\n(c) stop → end event, {len(stops)} stops: {harness.summary_ms(stops)}")


def report_latency(results: dict[str, list[float]]) -> None:
    """Print (a)."""
    print("(a) one streamed turn, local server without delay")
    for name, values in results.items():
        print(f"- {name}: {harness.summary_ms(values)}")


def spread(procs: int, count: int, target: str, *args: str) -> tuple[int, list[float]]:
    """Run ``count`` streams of ``target`` split over ``procs`` client processes.

    One Python process reading hundreds of streams is itself late to read chunks; several
    keep the clients from being what is measured.
    """
    shares = [count // procs + (i < count % procs) for i in range(procs)]
    with ProcessPoolExecutor(procs) as pool:
        results = list(pool.map(_run_share, [(target, *args, n) for n in shares if n]))
    return sum(done for done, _ in results), [gap for _, run in results for gap in run]


def _run_share(job: tuple[Any, ...]) -> tuple[int, list[float]]:
    """Run one client process's share of streams."""
    target, *args = job
    return asyncio.run(globals()[target](*args))


def report_many(count: int, interval: float, base: str, token: str, gemini_url: str) -> None:
    """Run and print (b) for ``count`` streams."""
    procs = max(1, min(2, count // 100))
    raw_done, raw_gaps = spread(procs, count, "many_raw", gemini_url)
    done, chat_gaps = spread(procs, count, "many_chatapp", base, token)
    added = [gap - interval for gap in chat_gaps]
    raw_added = [gap - interval for gap in raw_gaps]
    print(
        f"\n(b) {count} concurrent streams, a chunk every {interval * 1000:.0f} ms "
        f"({procs} client processes)"
    )
    print(
        f"- chatapp: {done}/{count} completed; gap beyond the interval {harness.summary_ms(added)}"
    )
    print(
        f"- raw local server: {raw_done}/{count} completed; "
        f"gap beyond the interval {harness.summary_ms(raw_added)}"
    )
    extra = harness.percentile(added, 99) - harness.percentile(raw_added, 99)
    print(f"- added by chatapp at p99: {extra * 1000:.1f} ms")


if __name__ == "__main__":
    main()
