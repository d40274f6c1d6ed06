"""Benchmark chat turns: chatapp under gunicorn against a zero-latency Gemini wire server.

One command (``make bench``, or ``python bench/chat_turns.py --clients 8 --turns 200``):

1. starts ``python -m tests.support.gemini_wire`` (no delay) and, on a fresh SQLite database in a
   temporary directory (or ``--database-url``), runs ``flask init-db``, creates a user and
   an API token with the CLI, and starts gunicorn with ``gunicorn.conf.py``;
2. ``--clients`` threads each hold one conversation and send ``--turns`` messages through
   ``POST /api/v1/chat/message``, one after another;
3. as the baseline, in the same run, the same number of threads call the raw google-genai
   SDK against the same wire server, each sending the same growing history a chat sends;
4. prints turns/s, p50/p99 latency, early (turns 1-10) against late (last 10) latency, and
   whether the targets are met: a chat turn at >= 60% of the raw SDK rate, and late turns
   no slower than 1.2x early ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from google import genai
from google.genai import types

from bench import harness

MODEL = "gemini-bench"  # what harness.app_environment configures
EDGE = 10  # turns counted as "early" and as "late"
RATE_TARGET = 0.60
GROWTH_TARGET = 1.20


@dataclass
class Run:
    """Per-client, per-turn latencies (seconds) of one phase, and its wall-clock time."""

    name: str
    latencies: list[list[float]]
    wall: float

    @property
    def flat(self) -> list[float]:
        """Every latency of the run."""
        return [value for client in self.latencies for value in client]

    def turns(self, start: int, stop: int) -> list[float]:
        """Latencies of turns ``start..stop-1`` (0-based) across clients."""
        return [value for client in self.latencies for value in client[start:stop]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent conversations")
    parser.add_argument("--turns", type=int, default=200, help="messages per conversation")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--database-url", default="", help="default: fresh SQLite in a tmp dir")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the app (optional)")
    parser.add_argument("--message-chars", type=int, default=120, help="size of each message")
    parser.add_argument(
        "--sdk-dicts",
        action="store_true",
        help="baseline sends plain dicts instead of types.Content (the SDK validates them faster)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def message(client: int, turn: int, chars: int) -> str:
    """The message a client sends at a turn: distinct, always ``chars`` long."""
    text = f"Client {client}, turn {turn}: tell me more about this. "
    return (text * (chars // len(text) + 1))[:chars]


def chat_conversation(base_url: str, token: str, client: int, args: Any) -> list[float]:
    """Hold one conversation through the chat API; return each turn's latency."""
    latencies = []
    session_id = None
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base_url, headers=headers, timeout=120) as http:
        for turn in range(args.turns):
            body: dict[str, Any] = {"message": message(client, turn, args.message_chars)}
            if session_id:
                body["sessionId"] = session_id
            started = time.perf_counter()
            response = http.post("/api/v1/chat/message", json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"turn {turn}: {response.status_code} {response.text}")
            session_id = response.json()["sessionId"]
    return latencies


def sdk_conversation(sdk: genai.Client, client: int, args: Any) -> list[float]:
    """The baseline: the same conversation straight through the SDK; return latencies."""
    latencies = []
    history: list[Any] = []
    for turn in range(args.turns):
        history.append(content("user", message(client, turn, args.message_chars), args))
        started = time.perf_counter()
        response = sdk.models.generate_content(model=MODEL, contents=history)
        latencies.append(time.perf_counter() - started)
        history.append(content("model", response.text, args))
    return latencies


def content(role: str, text: str, args: Any) -> Any:
    """One turn for the SDK: a ``types.Content`` as chatapp sends, or a plain dict."""
    if args.sdk_dicts:
        return {"role": role, "parts": [{"text": text}]}
    return types.Content(role=role, parts=[types.Part(text=text)])


def in_parallel(name: str, clients: int, work: Callable[[int], list[float]]) -> Run:
    """Run ``work(client)`` on ``clients`` threads at once; collect their latencies."""
    results: list[list[float]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []

    def target(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as exc:  # reported after the run
            failures.append(exc)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{name}: {failures[0]!r}")
    return Run(name, results, time.perf_counter() - started)


def summary(run: Run) -> dict[str, float]:
    """Rates and latencies (ms) of one run."""
    flat = sorted(run.flat)
    edge = min(EDGE, len(run.latencies[0]))
    early = statistics.median(run.turns(0, edge))
    late = statistics.median(run.turns(-edge, None))
    return {
        "turns_per_s": len(flat) / run.wall,
        "p50_ms": statistics.median(flat) * 1000,
        "p99_ms": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000,
        "early_ms": early * 1000,
        "late_ms": late * 1000,
        "late_over_early": late / early,
    }


def report(chat: dict[str, float], raw: dict[str, float], args: Any) -> str:
    """A table of both runs and the verdict on each target."""
    rows = [
        ("turns/s", "turns_per_s", "{:.1f}"),
        ("p50 latency (ms)", "p50_ms", "{:.1f}"),
        ("p99 latency (ms)", "p99_ms", "{:.1f}"),
        (f"early turns 1-{EDGE}, median (ms)", "early_ms", "{:.1f}"),
        (f"late turns (last {EDGE}), median (ms)", "late_ms", "{:.1f}"),
        ("late / early", "late_over_early", "{:.2f}"),
    ]
    lines = [
        f"{args.clients} clients x {args.turns} turns, gunicorn {args.workers} workers x "
        f"{args.threads} threads, database {args.database_url or 'SQLite (temp file)'}"
        + (", baseline sends dicts" if args.sdk_dicts else "")
        + (f", redis {args.redis_url}" if args.redis_url else ""),
        f"{'':38}{'chat API':>12}{'raw SDK':>12}",
    ]
    for label, key, fmt in rows:
        lines.append(f"{label:38}{fmt.format(chat[key]):>12}{fmt.format(raw[key]):>12}")
    share = chat["turns_per_s"] / raw["turns_per_s"]
    growth = chat["late_over_early"]
    lines.append(
        f"chat rate / raw SDK rate: {share:.0%} (target >= {RATE_TARGET:.0%}: "
        f"{'met' if share >= RATE_TARGET else 'NOT met'})"
    )
    lines.append(
        f"chat late / early latency: {growth:.2f}x (target <= {GROWTH_TARGET}x: "
        f"{'met' if growth <= GROWTH_TARGET else 'NOT met'})"
    )
    return "\n".join(lines)


def benchmark(args: Any, tmp: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Start the servers, run both phases, and return their summaries."""
    with harness.wire_server(tmp) as wire_url:
        database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        env = harness.app_environment(database_url, wire_url, args.redis_url)
        token = harness.prepare_database(env)
        with harness.gunicorn(env, tmp, args.workers, args.threads) as base_url:
            chat = in_parallel(
                "chat", args.clients, lambda n: chat_conversation(base_url, token, n, args)
            )
        sdk = genai.Client(api_key="bench-key", http_options=sdk_options(wire_url))
        raw = in_parallel("raw SDK", args.clients, lambda n: sdk_conversation(sdk, n, args))
        sdk.close()
    return summary(chat), summary(raw)


def sdk_options(wire_url: str) -> types.HttpOptions:
    """The same HTTP options chatapp's gemini module uses by default (3 attempts)."""
    retry = types.HttpRetryOptions(
        attempts=3,
        initial_delay=0.5,
        max_delay=8.0,
        http_status_codes=[408, 429, 500, 502, 503, 504],
    )
    return types.HttpOptions(
        base_url=wire_url, api_version="v1beta", timeout=60_000, retry_options=retry
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as tmp:
        chat, raw = benchmark(args, Path(tmp))
    print(report(chat, raw, args))
    if args.json:
        args.json.write_text(
            json.dumps({"chat": chat, "raw_sdk": raw, "args": vars(args)}, default=str, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
