"""Turns past the context budget: summaries against dropping, and a path that fits.

In-process (Flask test client) against the Gemini wire server, on fresh SQLite files or
``--database-url`` (emptied for each mode). Each mode holds one conversation of
``--turns`` exchanges (400-character messages and replies, about 200 tokens an exchange),
then times ``--measured`` more turns; in the same run:

- ``fits``: ``CHAT_CONTEXT_TOKENS`` large enough for everything (the baseline);
- ``dropping``: a budget of ``--budget-exchanges`` exchanges, ``CHAT_SUMMARIES=false``;
- ``summaries``: the same budget with summaries on (reused, and rewritten now and then).

Printed per mode: median and 90th-percentile turn time, statements and commits per turn,
and how many summary requests the model got (docs/benchmarks.md, "Summarised context")::

    python -m bench.summaries [--turns 60] [--measured 40] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from typing import Any

from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.statements import Recorder
from tests.support.turns import summary_requests

TEXT = 400  # characters of every message and reply
EXCHANGE_TOKENS = 2 * (TEXT // 4 + 1)


def run_mode(url: str, server: GeminiWireServer, args: Any, **config: Any) -> dict[str, Any]:
    """One conversation under ``config``: the measured turns' times (seconds), statements
    and commits (totals), and the summary requests made during them."""
    server.reset()
    server.default = Reply(text="r" * TEXT)
    app = build_app(url, **wire_config(server, RATELIMIT_ENABLED=False, **config))
    try:
        with app.app_context():
            from chatapp.extensions import db

            recorder = Recorder(db.engine)
        client = app.test_client()
        user = ApiUser(client, AuthActions(app, client).headers("alice"))
        session_id = user.send("m" * TEXT).json["sessionId"]
        for _ in range(args.turns - 1):
            user.send("m" * TEXT, session_id)
        before = len(summary_requests(server))
        times, statements, commits = [], 0, 0
        for _ in range(args.measured):
            start = time.perf_counter()
            done, count = recorder.measure(lambda: user.send("m" * TEXT, session_id))
            times.append(time.perf_counter() - start)
            statements += len(done)
            commits += count
    finally:
        close_app(app)
    made = len(summary_requests(server)) - before
    return {"times": times, "statements": statements, "commits": commits, "summaries": made}


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one mode together: percentiles in ms, counts per turn."""
    times = sorted(t for result in results for t in result["times"])
    turns = len(times)
    return {
        "p50": statistics.median(times) * 1000,
        "p90": times[int(turns * 0.9) - 1] * 1000,
        "statements": sum(r["statements"] for r in results) / turns,
        "commits": sum(r["commits"] for r in results) / turns,
        "summaries": sum(r["summaries"] for r in results),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the three modes and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--measured", type=int, default=40)
    parser.add_argument("--budget-exchanges", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="modes alternate, each round")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    budget = args.budget_exchanges * EXCHANGE_TOKENS + TEXT // 4 + 1
    modes = {
        "fits": {"CHAT_CONTEXT_TOKENS": 10**9},
        "dropping": {"CHAT_CONTEXT_TOKENS": budget, "CHAT_SUMMARIES": False},
        "summaries": {"CHAT_CONTEXT_TOKENS": budget, "CHAT_SUMMARIES": True},
    }
    print(
        f"{args.turns} exchanges, then {args.measured} measured turns, {args.rounds} rounds; "
        f"budget {budget} tokens"
    )
    print("mode        p50 ms  p90 ms  statements  commits  summary requests")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in modes}
    with tempfile.TemporaryDirectory() as tmp, GeminiWireServer(max_records=None) as server:
        for round_number in range(args.rounds):
            for name, config in modes.items():
                url = args.database_url or f"sqlite:///{tmp}/{name}{round_number}.db"
                results[name].append(run_mode(url, server, args, **config))
        for name in modes:
            result = merged(results[name])
            print(
                f"{name:<10} {result['p50']:7.1f} {result['p90']:7.1f} "
                f"{result['statements']:11.2f} {result['commits']:8.2f} {result['summaries']:17d}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
