"""Memory of a worker that served many long conversations (issue 15, target 4), gunicorn.

A fresh SQLite file holds ``--conversations`` (default 1000, what ``GEMINI_CHAT_CACHE``
held before requests were built in wire form) conversations of ``--turns`` - 1 turns of
``--chars``-character messages, written straight into the tables; then one more turn of
each is sent through ``POST /api/v1/chat/message`` (``--clients`` at a time) to one
gunicorn worker. Prints the worker's RSS before and after. Target: at most 300 MB per
worker (chatapp now keeps no per-conversation state between turns, docs/decisions.md)::

    python -m bench.chat_memory
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine

from bench import harness
from bench.chat_turns import in_parallel
from bench.history_pages import insert_all, newest_user
from chatapp.models import ChatMessage, ChatSession, User

TARGET_MB = 300


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--chars", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    return parser.parse_args(argv)


def text(n: int, chars: int) -> str:
    """A distinct message of ``chars`` characters."""
    return (f"message {n}: " + "lorem ipsum dolor sit amet " * (chars // 20 + 1))[:chars]


def fill(database_url: str, args: Any) -> list[uuid.UUID]:
    """Write the conversations, each ``--turns`` - 1 turns long; return their ids."""
    engine = create_engine(database_url)
    ids = [uuid.uuid4() for _ in range(args.conversations)]
    messages = 2 * (args.turns - 1)
    with engine.begin() as connection:
        user_id = connection.scalar(
            User.__table__.select()
            .with_only_columns(User.id)
            .where(User.username == newest_user(database_url))
        )
        insert_all(
            connection,
            ChatSession,
            [{"id": key, "user_id": user_id, "message_count": messages} for key in ids],
        )
        for key in ids:
            insert_all(
                connection,
                ChatMessage,
                [
                    {
                        "session_id": key,
                        "position": p,
                        "role": ("user", "model")[p % 2],
                        "content": text(p, args.chars),
                    }
                    for p in range(messages)
                ],
            )
    engine.dispose()
    return ids


def main(argv: list[str] | None = None) -> int:
    """Fill one worker's cache and print its memory."""
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="chatapp-memory-") as name,
        harness.wire_server(Path(name)) as wire_url,
    ):
        url = f"sqlite:///{Path(name) / 'memory.db'}"
        env = harness.app_environment(url, wire_url)
        token = harness.prepare_database(env)
        ids = fill(url, args)
        with harness.gunicorn_process(env, Path(name), 1, 8) as (base, server):
            headers = {"Authorization": f"Bearer {token}"}
            with httpx2.Client(base_url=base, headers=headers, timeout=120) as http:
                http.post("/api/v1/chat/message", json={"message": "warm up"}).raise_for_status()
                before = harness.worker_rss_mb(server.pid)

                def turns(client: int) -> list[float]:
                    for key in ids[client :: args.clients]:
                        body = {"message": text(0, args.chars), "sessionId": str(key)}
                        http.post("/api/v1/chat/message", json=body).raise_for_status()
                    return []

                in_parallel("fill", args.clients, turns)
                after = harness.worker_rss_mb(server.pid)
    rss = max(after)
    print(
        f"target 4: {args.conversations} conversations of {args.turns} turns of "
        f"{args.chars}-character messages served by one worker: RSS {before[0]:.0f} MB "
        f"before, {rss:.0f} MB after (target <= {TARGET_MB} MB: "
        f"{'met' if rss <= TARGET_MB else 'NOT met'}); load {harness.load()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
