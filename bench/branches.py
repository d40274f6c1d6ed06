"""A turn on a conversation with many branches vs one on a linear conversation (issue 17).

In-process (Flask test client) against the Gemini wire server, on a fresh SQLite file and,
with ``--database-url``, on PostgreSQL. Two conversations with an active path of the same
length (``--path-turns`` turns):

- *linear*: the turns sent one after another;
- *branched*: the same, then ``--branches`` branches made along the path (alternately an
  edit of a user message and a regeneration of a reply, each with its new reply), switching
  back to the original path after each.

Then ``--turns`` measured turns on each, interleaved (linear, branched, linear, ...), and
as many reads of each conversation (``GET /api/v1/chat/session/<id>``: the active path and
the messages' versions), wall time and the serving thread's CPU time (which the machine's
load does not inflate). Target: the branched medians within 10% of the linear ones::

    python -m bench.branches [--database-url postgresql+psycopg://.../bench]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import harness
from tests.support.app import build_app, close_app, wire_config
from tests.support.branches import Conversation
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer

TARGET = 1.10  # branched median / linear median


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-turns", type=int, default=50, help="active path length")
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--turns", type=int, default=100, help="measured turns per conversation")
    parser.add_argument("--database-url", default="", help="PostgreSQL too (optional)")
    return parser.parse_args(argv)


def linear(user: ApiUser, turns: int) -> Conversation:
    """A conversation of ``turns`` turns."""
    return Conversation.start(user, *(f"turn {n}: tell me more." for n in range(turns)))


def branched(user: ApiUser, turns: int, branches: int) -> Conversation:
    """A conversation of ``turns`` turns, then ``branches`` branches along its path, the
    original path active again at the end."""
    chat = linear(user, turns)
    path = chat.messages()
    last = path[-1]["id"]
    for number in range(branches):
        pair = 2 * (number * turns // branches)
        if number % 2:
            chat.regenerate(path[pair + 1]["id"])
        else:
            chat.edit(path[pair]["id"], f"turn {pair // 2}, edited ({number})")
        chat.switch(last)
    assert [m["id"] for m in chat.messages()] == [m["id"] for m in path]
    return chat


def timed(action: Callable[[], Any]) -> tuple[float, float]:
    """Seconds ``action()`` took: wall time, and this thread's CPU time (the request is
    served on this thread by the test client, so this is its own cost, whatever else the
    machine runs; on SQLite that includes the database's work)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    action()
    return time.perf_counter() - wall, time.thread_time() - cpu


def measure(chats: dict[str, Conversation], turns: int) -> dict[str, dict[str, list[float]]]:
    """Interleaved turns and reads on each conversation, in alternating order (linear
    first, then branched first: drift in the machine's load falls on both alike): their
    wall and CPU latencies by kind."""
    kinds = ("turn", "read", "turn cpu", "read cpu")
    results: dict[str, dict[str, list[float]]] = {n: {k: [] for k in kinds} for n in chats}
    names = list(chats)
    for number in range(turns):
        for name in names if number % 2 == 0 else reversed(names):
            chat = chats[name]
            for kind, action in (
                ("turn", partial(chat.send, f"measured {number}")),
                ("read", chat.messages),
            ):
                wall, cpu = timed(action)
                results[name][kind].append(wall)
                results[name][f"{kind} cpu"].append(cpu)
    return results


def run(database_url: str, args: argparse.Namespace, server: GeminiWireServer) -> bool:
    """Build both conversations on one database, measure, print; whether the target is met."""
    app = build_app(database_url, **wire_config(server, RATELIMIT_ENABLED=False))
    client = app.test_client()
    user = ApiUser(client, AuthActions(app, client).headers("alice"))
    chats = {
        "linear": linear(user, args.path_turns),
        "branched": branched(user, args.path_turns, args.branches),
    }
    results = measure(chats, args.turns)
    close_app(app)
    met = True
    database = database_url.split(":", 1)[0]
    print(f"{database}: path of {args.path_turns} turns, {args.branches} branches")
    for kind in ("turn", "read", "turn cpu", "read cpu"):
        medians = {name: statistics.median(results[name][kind]) for name in chats}
        ratio = medians["branched"] / medians["linear"]
        met &= ratio <= TARGET
        for name in chats:
            print(f"  {kind:8} {name:8}: {harness.summary_ms(results[name][kind])}")
        print(f"  {kind:8} branched/linear median: {ratio:.3f} (target <= {TARGET})")
    return met


def main(argv: list[str] | None = None) -> int:
    """Run on SQLite, then on PostgreSQL when given."""
    args = parse_args(argv)
    print(f"load averages: {harness.load()}")
    met = True
    with tempfile.TemporaryDirectory() as tmp, GeminiWireServer(max_records=10) as server:
        for url in filter(None, [f"sqlite:///{tmp}/branches.db", args.database_url]):
            met &= run(url, args, server)
    print("target met" if met else "target NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
