"""Benchmark chat turns against a minimal app (issue 15, targets 1 and 2), under gunicorn.

One command (``make bench``, or ``python -m bench.chat_turns``), against a zero-latency
Gemini wire server (``tests.support.gemini_wire``) run as its own process:

1. **Rate** (target 1): for each conversation length in ``--turns`` (30 and 300), on fresh
   SQLite files, ``--clients`` threads each hold one conversation through
   - the baseline, ``bench.minimal_app`` (Flask + sqlite3 + google-genai: per turn one
     SELECT, ``chats.create(history=...)`` + ``send_message``, two INSERTs),
   - chatapp's ``POST /api/v1/chat/message``, and
   - chatapp's ``POST /api/v1/chat/message/stream``,
   each under gunicorn with the same settings (``gunicorn.conf.py``, ``--workers`` x
   ``--threads``). Target: chatapp at >= 1.5x the baseline's turns/s with 30-turn
   conversations and >= 3x with 300-turn ones, streamed and not.
2. **Flat cost** (target 2): one client, one conversation of ``--flat-turns`` turns through
   ``POST /api/v1/chat/message``, on SQLite and (with ``--database-url``) PostgreSQL: the
   median of the last 10 turns at most 2x the median of turns 1-10.
"""

from __future__ import annotations

import argparse
import json
import os
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

from bench import harness

EDGE = 10  # turns counted as "early" and as "late"
RATE_TARGETS = {30: 1.5, 300: 3.0}  # chatapp turns/s over the baseline's, per length
GROWTH_TARGET = 2.0


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

    def turns(self, start: int, stop: int | None) -> list[float]:
        """Latencies of turns ``start..stop-1`` (0-based) across clients."""
        return [value for client in self.latencies for value in client[start:stop]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent conversations")
    parser.add_argument(
        "--turns", type=int, nargs="*", default=[30, 300], help="conversation lengths (rate)"
    )
    parser.add_argument("--flat-turns", type=int, default=300, help="0: skip target 2")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--database-url", default="", help="PostgreSQL for target 2 (optional)")
    parser.add_argument("--message-chars", type=int, default=120, help="size of each message")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def message(client: int, turn: int, chars: int) -> str:
    """The message a client sends at a turn: distinct, always ``chars`` long."""
    text = f"Client {client}, turn {turn}: tell me more about this. "
    return (text * (chars // len(text) + 1))[:chars]


def minimal_conversation(base_url: str, client: int, turns: int, chars: int) -> list[float]:
    """Hold one conversation with the minimal app; return each turn's latency."""
    latencies = []
    session_id = None
    with httpx2.Client(base_url=base_url, timeout=120) as http:
        for turn in range(turns):
            body = {"message": message(client, turn, chars), "sessionId": session_id}
            started = time.perf_counter()
            response = http.post("/message", json=body)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"turn {turn}: {response.status_code} {response.text}")
            session_id = response.json()["sessionId"]
    return latencies


def chat_conversation(
    base_url: str, token: str, client: int, turns: int, chars: int, streamed: bool
) -> list[float]:
    """Hold one conversation through chatapp's chat API; return each turn's latency."""
    latencies = []
    session_id = None
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base_url, headers=headers, timeout=120) as http:
        for turn in range(turns):
            body: dict[str, Any] = {"message": message(client, turn, chars)}
            if session_id:
                body["sessionId"] = session_id
            started = time.perf_counter()
            session_id = (streamed_turn if streamed else whole_turn)(http, body)
            latencies.append(time.perf_counter() - started)
    return latencies


def whole_turn(http: httpx2.Client, body: dict[str, Any]) -> str:
    """One ``POST /api/v1/chat/message``; the conversation's id."""
    response = http.post("/api/v1/chat/message", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code} {response.text}")
    return response.json()["sessionId"]


def streamed_turn(http: httpx2.Client, body: dict[str, Any]) -> str:
    """One ``POST /api/v1/chat/message/stream`` read to its ``end`` event; the id."""
    events = []
    with http.stream("POST", "/api/v1/chat/message/stream", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    if not events or events[-1]["type"] != "end":
        raise RuntimeError(f"stream did not end: {events[-1:]}")
    return events[0]["sessionId"]


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


def rate(args: Any, tmp: Path, wire_url: str, turns: int) -> dict[str, Run]:
    """Target 1 at one conversation length: the baseline, then chatapp whole and streamed."""
    runs = {}
    env = dict(os.environ, GEMINI_BASE_URL=wire_url, GEMINI_MODEL="gemini-bench")
    env.update(MINIMAL_DB=str(tmp / f"minimal-{turns}.db"), PYTHONPATH=str(harness.ROOT))
    with harness.gunicorn(
        env, tmp, args.workers, args.threads, "bench.minimal_app:app", "/health"
    ) as base:
        warm_up(lambda: minimal_conversation(base, 99, 2, args.message_chars), args)
        runs["minimal app"] = in_parallel(
            "minimal", args.clients,
            lambda n: minimal_conversation(base, n, turns, args.message_chars),
        )  # fmt: skip
    env = harness.app_environment(f"sqlite:///{tmp / f'chat-{turns}.db'}", wire_url)
    token = harness.prepare_database(env)
    with harness.gunicorn(env, tmp, args.workers, args.threads) as base:
        for streamed in (False, True):
            warm_up(lambda s=streamed: chat_conversation(base, token, 99, 2, 100, s), args)
        for name, streamed in (("chatapp", False), ("chatapp stream", True)):
            runs[name] = in_parallel(
                name, args.clients,
                lambda n, s=streamed: chat_conversation(
                    base, token, n, turns, args.message_chars, s
                ),
            )  # fmt: skip
    return runs


def flat(args: Any, tmp: Path, wire_url: str, database_url: str) -> Run:
    """Target 2 on one database: one client, one long conversation."""
    env = harness.app_environment(database_url, wire_url)
    token = harness.prepare_database(env)
    with harness.gunicorn(env, tmp, args.workers, args.threads) as base:
        warm_up(lambda: chat_conversation(base, token, 99, 2, 100, False), args)
        return in_parallel(
            "flat", 1,
            lambda n: chat_conversation(base, token, n, args.flat_turns, args.message_chars, False),
        )  # fmt: skip


def warm_up(conversation: Callable[[], Any], args: Any) -> None:
    """Have every worker import and connect before a phase is timed."""
    in_parallel("warm-up", 2 * args.workers, lambda n: conversation())


def verdict(ok: bool) -> str:
    """The word for a target."""
    return "met" if ok else "NOT met"


def rate_report(turns: int, runs: dict[str, Run]) -> tuple[list[str], dict[str, Any]]:
    """Lines and numbers of target 1 at one length."""
    numbers = {name: summary(run) for name, run in runs.items()}
    base = numbers["minimal app"]["turns_per_s"]
    target = RATE_TARGETS.get(turns, RATE_TARGETS[300])
    lines = [f"target 1, {turns}-turn conversations:"]
    for name, values in numbers.items():
        ratio = values["turns_per_s"] / base
        line = (
            f"  {name:16} {values['turns_per_s']:7.1f} turns/s  p50 {values['p50_ms']:6.1f} ms"
            f"  p99 {values['p99_ms']:6.1f} ms  x{ratio:.2f}"
        )
        if name != "minimal app":
            line += f"  (target >= {target}x: {verdict(ratio >= target)})"
            values["ratio"] = ratio
        lines.append(line)
    return lines, numbers


def flat_report(name: str, run: Run) -> tuple[list[str], dict[str, Any]]:
    """Lines and numbers of target 2 on one database."""
    values = summary(run)
    growth = values["late_over_early"]
    line = (
        f"target 2, {name}: turns 1-{EDGE} median {values['early_ms']:.1f} ms, last {EDGE} "
        f"median {values['late_ms']:.1f} ms: {growth:.2f}x (target <= {GROWTH_TARGET}x: "
        f"{verdict(growth <= GROWTH_TARGET)})"
    )
    return [line], values


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    lines = [
        f"{args.clients} clients, gunicorn {args.workers} workers x {args.threads} threads, "
        f"messages of {args.message_chars} characters; load before: {harness.load()}"
    ]
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="chatapp-bench-") as name,
        harness.wire_server(Path(name)) as wire_url,
    ):
        tmp = Path(name)
        for turns in args.turns:
            more, results[f"rate_{turns}"] = rate_report(turns, rate(args, tmp, wire_url, turns))
            lines += more
        databases = [("SQLite", f"sqlite:///{tmp / 'flat.db'}")]
        if args.database_url:
            databases.append(("PostgreSQL", args.database_url))
        for label, url in databases if args.flat_turns else []:
            more, results[f"flat_{label}"] = flat_report(label, flat(args, tmp, wire_url, url))
            lines += more
    lines.append(f"load after: {harness.load()}")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "args": vars(args)}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
