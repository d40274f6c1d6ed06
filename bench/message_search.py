"""Benchmark full-text search over a user's messages: latency at 100k of her own among 1M.

One command (``make bench`` runs it with ``SEARCH_ARGS``)::

    python -m bench.message_search --database-url postgresql+psycopg://postgres@127.0.0.1:5432/msearch_bench

1. builds a synthetic corpus: ``--messages`` messages of 8-32 words drawn (Zipf, s = 1) from
   20,000 made-up words, in conversations of 50; alice owns ``--mine`` of them, 99 other
   users the rest;
2. loads it into a SQLite file (through the triggers that keep FTS5 in step) and, with
   ``--database-url``, into PostgreSQL (COPY; the GIN index is built after the load);
3. times ``search.search`` (what ``GET /api/v1/chat/search`` calls, in-process: ranking,
   snippets and the page's rows) for ``--queries`` queries of each kind: a rare, a mid and
   a common word, two words, a phrase from one of alice's messages and a prefix; and, as the
   baseline of the same run, the sidebar's existing title filter
   (``conversations.list_sessions`` with ``q``).

Target (issue 16): p50 under 30 ms over all query kinds, both databases.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import insert, text

from bench import harness
from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services import accounts
from chatapp.services.chat import conversations, search
from tests.support.app import make_config

VOCABULARY = 20_000
PER_SESSION = 50
OTHER_USERS = 99
TARGET_P50_MS = 30.0
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
# Word ranks (most frequent first) each kind of single-word query draws from.
BANDS = {"rare": (2_000, VOCABULARY), "mid": (200, 2_000), "common": (20, 200)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in all")
    parser.add_argument("--mine", type=int, default=100_000, help="alice's messages")
    parser.add_argument("--queries", type=int, default=40, help="queries of each kind")
    parser.add_argument("--database-url", default="", help="a PostgreSQL database to fill")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


class Corpus:
    """Made-up words and messages drawn from them, reproducibly."""

    def __init__(self, seed: int = 16) -> None:
        self.rng = np.random.default_rng(seed)
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            count = int(self.rng.integers(2, 5))
            words["".join(self.rng.choice(SYLLABLES, count))] = None
        self.words = list(words)
        weights = 1.0 / np.arange(1, VOCABULARY + 1)
        self.p = weights / weights.sum()

    def messages(self, count: int, chunk: int = 10_000) -> Iterator[str]:
        """``count`` messages of 8 to 32 words (drawn ``chunk`` messages at a time)."""
        for done in range(0, count, chunk):
            lengths = self.rng.integers(8, 33, min(chunk, count - done))
            tokens = self.rng.choice(VOCABULARY, int(lengths.sum()), p=self.p)
            start = 0
            for length in lengths:
                yield " ".join(self.words[i] for i in tokens[start : start + length])
                start += length

    def word(self, band: str) -> str:
        """A word of a frequency band."""
        low, high = BANDS[band]
        return self.words[int(self.rng.integers(low, high))]


def open_app(url: str) -> Flask:
    """An app on a fresh schema at ``url`` with alice and the other users."""
    app = create_app(make_config(url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        for n in range(OTHER_USERS + 1):
            name = "alice" if n == 0 else f"user{n}"
            accounts.create_user(name, f"{name}@example.com", "", password_hash="x")
        db.session.commit()
    return app


def plan(total: int, mine: int) -> list[tuple[int, int]]:
    """``(user id, messages)`` per conversation: alice's (id 1) first, then the others'."""
    sessions = [(1, PER_SESSION)] * (mine // PER_SESSION)
    others = (total - mine) // PER_SESSION
    sessions += [(2 + n % OTHER_USERS, PER_SESSION) for n in range(others)]
    return sessions


def session_rows(sessions: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    """The conversation rows (ids 1, 2, ... as UUIDs, so both passes agree)."""
    now = datetime.now(UTC)
    for n, (user_id, count) in enumerate(sessions):
        key = uuid.UUID(int=n + 1)
        yield {
            "id": key,
            "user_id": user_id,
            "title": f"chat {n}",
            "title_set_by_user": False,
            "created_at": now,
            "updated_at": now,
            "message_count": count,
            "stop_requested": False,
            "collection_ids": [],
            "web_search": False,
        }


def message_rows(corpus: Corpus, sessions: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    """The message rows of every conversation, in order."""
    now = datetime.now(UTC)
    texts = corpus.messages(sum(count for _, count in sessions))
    for n, (_, count) in enumerate(sessions):
        key = uuid.UUID(int=n + 1)
        for i in range(count):
            yield {
                "session_id": key,
                "position": i,
                "role": ("user", "model")[i % 2],
                "content": next(texts),
                "created_at": now,
                "status": "complete",
            }


def batches(items: Iterator[dict[str, Any]], size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    """``items`` in lists of ``size``."""
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_sqlite(app: Flask, corpus: Corpus, sessions: list[tuple[int, int]]) -> None:
    """Insert through the models' tables: the triggers index each message as it comes."""
    with app.app_context():
        for batch in batches(session_rows(sessions)):
            db.session.execute(insert(ChatSession), batch)
        db.session.commit()
        for batch in batches(message_rows(corpus, sessions)):
            db.session.execute(insert(ChatMessage), batch)
            db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def load_postgres(app: Flask, corpus: Corpus, sessions: list[tuple[int, int]]) -> None:
    """COPY the rows (the tsvector column is generated as they come), then build the GIN."""
    with app.app_context():
        db.session.execute(text(f"DROP INDEX {search.INDEX.pg_index}"))
        db.session.commit()
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            columns = list(next(session_rows(sessions[:1])))
            with cursor.copy(f"COPY chat_sessions ({', '.join(columns)}) FROM STDIN") as copy:
                for row in session_rows(sessions):
                    row["collection_ids"] = "[]"
                    copy.write_row(list(row.values()))
            columns = list(next(message_rows(Corpus(), sessions[:1])))
            with cursor.copy(f"COPY chat_history ({', '.join(columns)}) FROM STDIN") as copy:
                for row in message_rows(corpus, sessions):
                    copy.write_row(list(row.values()))
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(search.INDEX.postgres_ddl[1])
            cursor.execute("ANALYZE")
            connection.commit()
        finally:
            connection.close()


def queries(corpus: Corpus, app: Flask, count: int) -> dict[str, list[str]]:
    """``count`` queries of each kind; phrases come from alice's own messages."""
    with app.app_context():
        alices = [
            content.split()
            for (content,) in db.session.execute(
                text(
                    "SELECT content FROM chat_history JOIN chat_sessions s ON s.id = session_id "
                    "WHERE s.user_id = 1 ORDER BY chat_history.id LIMIT :n"
                ),
                {"n": count * 50},
            )
        ]
    phrases = []
    for words in alices[::50][:count]:
        start = int(corpus.rng.integers(0, len(words) - 2))
        phrases.append('"' + " ".join(words[start : start + 3]) + '"')
    kinds: dict[str, list[str]] = {
        band: [corpus.word(band) for _ in range(count)] for band in BANDS
    }
    kinds["two words"] = [f"{corpus.word('mid')} {corpus.word('common')}" for _ in range(count)]
    kinds["phrase"] = phrases
    kinds["prefix"] = [corpus.word("mid")[:4] + "*" for _ in range(count)]
    return kinds


def timed(app: Flask, call: Callable[[User, str], Any], items: list[str]) -> list[float]:
    """Seconds each query took (after one untimed warm-up pass)."""
    with app.app_context():
        alice = accounts.find_user("alice")
        for q in items[:5]:
            call(alice, q)
            db.session.rollback()
        durations = []
        for q in items:
            start = time.perf_counter()
            call(alice, q)
            durations.append(time.perf_counter() - start)
            db.session.rollback()
        return durations


def find(user: User, q: str) -> Any:
    """One page of message hits, as the route asks for it."""
    return search.search(user, q, 20, 0)


def titles(user: User, q: str) -> Any:
    """One page of the title filter (the baseline)."""
    return conversations.list_sessions(user, 20, 0, q)


def measure(name: str, app: Flask, kinds: dict[str, list[str]]) -> dict[str, Any]:
    """p50/p95 per query kind and over all, and the title-filter baseline."""
    result: dict[str, Any] = {}
    every: list[float] = []
    for kind, items in kinds.items():
        durations = timed(app, find, items)
        every += durations
        result[kind] = _ms(durations)
        print(f"  {name} {kind:10} {harness.summary_ms(durations)}", flush=True)
    result["all"] = _ms(every)
    words = [q for kind in ("rare", "mid", "common") for q in kinds[kind]]
    result["title filter (baseline)"] = _ms(timed(app, titles, words))
    print(f"  {name} ALL        {harness.summary_ms(every)}", flush=True)
    print(f"  {name} baseline: title filter {result['title filter (baseline)']}", flush=True)
    return result


def _ms(durations: list[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    return {
        "p50_ms": round(harness.percentile(durations, 50) * 1000, 2),
        "p95_ms": round(harness.percentile(durations, 95) * 1000, 2),
        "n": len(durations),
    }


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Load and measure each database in turn."""
    corpus = Corpus()
    sessions = plan(args.messages, args.mine)
    stores: list[tuple[str, str, Callable[..., None]]] = [
        ("sqlite", f"sqlite:///{tmp / 'search.db'}", load_sqlite)
    ]
    if args.database_url:
        stores.append(("postgresql", args.database_url, load_postgres))
    results: dict[str, Any] = {"messages": args.messages, "mine": args.mine}
    for name, url, load in stores:
        app = open_app(url)
        start = time.perf_counter()
        load(app, Corpus(), sessions)
        print(f"{name}: loaded {args.messages} messages in {time.perf_counter() - start:.0f} s")
        results[name] = measure(name, app, queries(corpus, app, args.queries))
        results[name]["meets_target"] = results[name]["all"]["p50_ms"] < TARGET_P50_MS
        with app.app_context():
            db.engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print (and optionally save) the results."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = run(args, Path(tmp))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
