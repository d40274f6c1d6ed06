"""Reading big histories and lists (issue 15, target 3), chatapp under gunicorn.

On a fresh SQLite file, and on ``--database-url`` (PostgreSQL) when given: one user with
``--conversations`` conversations (two messages each) and one more conversation of
``--messages`` messages, written straight into the tables. Then one client at a time:

- ``GET /api/v1/chat/session/<id>``: the newest page of the long conversation, and
- ``GET /api/v1/chat/sessions``: the first page of the user's conversations,

``--requests`` times each. Target: p50 under 20 ms and p99 under 60 ms on both databases::

    python -m bench.history_pages [--database-url postgresql+psycopg://.../perf_bench]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, select

from bench import harness
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.services.chat import paths

P50_MS, P99_MS = 20.0, 60.0
BATCH = 2000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url", default="", help="PostgreSQL too (optional)")
    return parser.parse_args(argv)


def fill(database_url: str, username: str, conversations: int, messages: int) -> uuid.UUID:
    """Write the user's conversations and the long one; return the long one's id.

    On PostgreSQL the tables are then analysed, as autovacuum does after a bulk write (with
    stale statistics the planner scans all 10,000 rows instead of the index's newest 51).
    """
    engine = create_engine(database_url)
    now = utcnow()
    with engine.begin() as connection:
        user_id = connection.scalar(select(User.id).where(User.username == username))
        rows = [
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "title": f"Conversation {n}",
                "updated_at": now - timedelta(seconds=n),
                "message_count": 2,
            }
            for n in range(conversations)
        ]
        insert_all(connection, ChatSession, rows)
        insert_all(
            connection,
            ChatMessage,
            [
                {"session_id": row["id"], "position": p, "role": role, "content": f"{role} {p}"}
                for row in rows
                for p, role in enumerate(("user", "model"))
            ],
        )
        long_id = uuid.uuid4()
        insert_all(
            connection,
            ChatSession,
            [{"id": long_id, "user_id": user_id, "title": "Long", "message_count": messages}],
        )
        text = "A message of a long conversation. " * 8
        insert_all(
            connection,
            ChatMessage,
            [
                {
                    "session_id": long_id,
                    "position": p,
                    "role": ("user", "model")[p % 2],
                    "content": f"{p}: {text}",
                }
                for p in range(messages)
            ],
        )
        paths.link_in_order(connection, [long_id, *(row["id"] for row in rows)])
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE chat_sessions, chat_history")
    engine.dispose()
    return long_id


def insert_all(connection: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in batches (Python-side column defaults apply)."""
    for start in range(0, len(rows), BATCH):
        connection.execute(model.__table__.insert(), rows[start : start + BATCH])


def timed(http: httpx2.Client, path: str, count: int) -> list[float]:
    """Latencies of ``count`` sequential GETs of ``path`` (after two warm-up requests)."""
    for _ in range(2):
        http.get(path).raise_for_status()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = http.get(path)
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return latencies


def measure(args: Any, tmp: Path, database_url: str) -> dict[str, list[float]]:
    """Fill one database and time both pages on it."""
    env = harness.app_environment(database_url, "http://127.0.0.1:9")
    env.pop("GEMINI_API_KEY")  # no model call here
    token = harness.prepare_database(env)
    user = newest_user(database_url)
    long_id = fill(database_url, user, args.conversations, args.messages)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        harness.gunicorn(env, tmp, args.workers, args.threads) as base,
        httpx2.Client(base_url=base, headers=headers, timeout=60) as http,
    ):
        return {
            f"newest page of {args.messages} messages": timed(
                http, f"/api/v1/chat/session/{long_id}", args.requests
            ),
            f"first page of {args.conversations} conversations": timed(
                http, "/api/v1/chat/sessions", args.requests
            ),
        }


def newest_user(database_url: str) -> str:
    """The user :func:`harness.prepare_database` just created."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        name = connection.scalar(select(User.username).order_by(User.id.desc()).limit(1))
    engine.dispose()
    return name


def main(argv: list[str] | None = None) -> int:
    """Run on each database and print p50/p99 with the verdicts."""
    args = parse_args(argv)
    lines = [f"target 3, one client at a time; load before: {harness.load()}"]
    with tempfile.TemporaryDirectory(prefix="chatapp-pages-") as name:
        databases = [("SQLite", f"sqlite:///{Path(name) / 'pages.db'}")]
        if args.database_url:
            databases.append(("PostgreSQL", args.database_url))
        for label, url in databases:
            for page, values in measure(args, Path(name), url).items():
                p50 = harness.percentile(values, 50) * 1000
                p99 = harness.percentile(values, 99) * 1000
                ok = p50 < P50_MS and p99 < P99_MS
                lines.append(
                    f"  {label:10} {page:36} p50 {p50:5.1f} ms  p99 {p99:5.1f} ms  "
                    f"(target p50 < {P50_MS:.0f}, p99 < {P99_MS:.0f}: "
                    f"{'met' if ok else 'NOT met'})"
                )
    lines.append(f"load after: {harness.load()}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
