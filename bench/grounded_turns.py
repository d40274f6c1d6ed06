"""Benchmark what retrieval adds to a chat turn: turns with grounding against turns without.

One command (``make bench`` runs it with ``GROUNDED_ARGS``)::

    python -m bench.grounded_turns [--database-url postgresql+psycopg://...]

1. starts the local Gemini wire server as a process and builds a knowledge store in a
   fresh SQLite file in a temporary directory (and, with ``--database-url``, in that
   PostgreSQL database too: its chatapp tables are replaced): ``--chunks`` chunks of
   ~1,000 characters of made-up words on 100 topics, with the wire server's embeddings
   (``tests.support.knowledge``: what the SDK gets from it), so both halves of retrieval
   find them; turns and query embeddings go through the real google-genai SDK to it;
2. through the app's Flask test client (in this process, no HTTP server: the added cost is
   what the app does, not what a server adds), one user holds two conversations: a plain
   one and a grounded one (``collectionIds`` given with its first message, as a page
   does). After ``--warmup`` turns each, ``--turns`` rounds each send the same message to
   both through ``POST /api/v1/chat/message`` and, as the baseline of the same run, time
   the query-embedding call alone (``get_model().embed([message], "RETRIEVAL_QUERY")``)
   and, to show where the added time goes, ``knowledge.retrieval.retrieve`` in-process
   (embedding, full-text and vector search, fusion). The order within a round rotates, so
   drift falls on every kind alike;
3. prints p50/p90 per kind, the added p50 (grounded - plain) and the added p50 besides the
   embedding call (added - embedding p50), against the target of issue 12: under 15 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from bench import corpus, harness
from chatapp.extensions import db
from chatapp.gemini import get_model
from chatapp.services import accounts
from chatapp.services.knowledge import retrieval
from tests.support import knowledge

TARGET_MS = 15.0
TOPICS = 100
TOPIC_WORDS = 30
CHUNK_WORDS = 150
QUERY_WORDS = 10
LABELS = {
    "plain": "turn without grounding",
    "grounded": "turn with collectionIds",
    "embedding": "query embedding alone",
    "retrieval": "retrieve() in-process",
}
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000, help="chunks in the collection")
    parser.add_argument("--turns", type=int, default=60, help="timed turns of each kind")
    parser.add_argument("--warmup", type=int, default=5, help="untimed turns of each kind")
    parser.add_argument("--database-url", default="", help="also PostgreSQL (tables replaced)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


class Texts:
    """Made-up words on topics: chunks and questions that share words with them."""

    def __init__(self, seed: int = 12) -> None:
        self.rng = random.Random(seed)
        words = sorted({self._word() for _ in range(4000)})
        self.rng.shuffle(words)
        self.words = words
        self.topics = [self.rng.sample(words, TOPIC_WORDS) for _ in range(TOPICS)]

    def _word(self) -> str:
        """Two to four syllables."""
        return "".join(self.rng.choices(SYLLABLES, k=self.rng.randint(2, 4)))

    def _text(self, length: int) -> str:
        """``length`` words, three quarters from one topic."""
        topic = self.rng.choice(self.topics)
        words = [
            self.rng.choice(topic) if self.rng.random() < 0.75 else self.rng.choice(self.words)
            for _ in range(length)
        ]
        return " ".join(words)

    def chunk(self) -> str:
        """A chunk's text (~1,000 characters)."""
        return self._text(CHUNK_WORDS)

    def question(self) -> str:
        """A short question on one topic."""
        return f"What do my notes say about {self._text(QUERY_WORDS)}?"


def load(store: corpus.Store, texts: list[str]) -> None:
    """Store ``texts`` in alice's collection as ready documents of 50 live, embedded chunks."""
    collection_id = str(store.collections["alice"])
    for first in range(0, len(texts), corpus.CHUNKS_PER_DOCUMENT):
        part = texts[first : first + corpus.CHUNKS_PER_DOCUMENT]
        knowledge.add_document(store.app, collection_id, f"notes {first}", part)


class Conversation:
    """One conversation of alice's through the test client: each turn's latency."""

    def __init__(self, app: Flask, headers: dict[str, str], grounding: list[str] | None) -> None:
        self.client = app.test_client()
        self.headers = headers
        self.grounding = grounding
        self.session_id: str | None = None
        self.sourced = 0  # replies that came back with sources

    def send(self, message: str) -> float:
        """Send one message; return its latency in seconds."""
        body: dict[str, Any] = {"message": message}
        if self.session_id:
            body["sessionId"] = self.session_id
        elif self.grounding:
            body["collectionIds"] = self.grounding
        started = time.perf_counter()
        response = self.client.post("/api/v1/chat/message", json=body, headers=self.headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"chat turn failed: {response.status_code} {response.text}")
        reply = response.get_json()
        self.session_id = reply["sessionId"]
        self.sourced += bool(reply.get("sources"))
        return elapsed


def run_turns(store: corpus.Store, args: Any, texts: Texts) -> dict[str, Any]:
    """Warm up, then time ``args.turns`` rounds of every kind, in rotating order."""
    with store.app.app_context():
        _, secret = accounts.create_token(store.user("alice"), "bench")
        model = get_model()
    headers = {"Authorization": f"Bearer {secret}"}
    plain = Conversation(store.app, headers, None)
    grounded = Conversation(store.app, headers, [str(store.collections["alice"])])

    def embed(message: str) -> float:
        started = time.perf_counter()
        model.embed([message], "RETRIEVAL_QUERY")
        return time.perf_counter() - started

    def retrieve(message: str) -> float:
        with store.app.app_context():
            user = store.user("alice")
            started = time.perf_counter()
            retrieval.retrieve(user, message, [store.collections["alice"]])
            return time.perf_counter() - started

    kinds: dict[str, Callable[[str], float]] = {
        "plain": plain.send,
        "grounded": grounded.send,
        "embedding": embed,
        "retrieval": retrieve,
    }
    for _ in range(args.warmup):
        message = texts.question()
        for send in kinds.values():
            send(message)
    plain.sourced = grounded.sourced = 0
    times: dict[str, list[float]] = {name: [] for name in kinds}
    names = list(kinds)
    for round_ in range(args.turns):
        message = texts.question()
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            times[name].append(kinds[name](message))
    return summarise(times, grounded.sourced, plain.sourced)


def summarise(times: dict[str, list[float]], grounded: int, plain: int) -> dict[str, Any]:
    """p50/p90 (ms) per kind, the added p50 and the verdict."""
    out: dict[str, Any] = {
        name: {
            "p50_ms": harness.percentile(values, 50) * 1000,
            "p90_ms": harness.percentile(values, 90) * 1000,
        }
        for name, values in times.items()
    }
    added = out["grounded"]["p50_ms"] - out["plain"]["p50_ms"]
    out["added_p50_ms"] = added
    out["added_besides_embedding_ms"] = added - out["embedding"]["p50_ms"]
    out["met"] = out["added_besides_embedding_ms"] < TARGET_MS
    out["turns_with_sources"] = {"grounded": grounded, "plain": plain}
    return out


def benchmark(args: Any, tmp: Path) -> dict[str, dict[str, Any]]:
    """Every store, one after another, against one wire server."""
    targets = [("sqlite", corpus.sqlite_url(tmp))]
    if args.database_url:
        targets.append(("postgresql", args.database_url))
    results = {}
    with harness.wire_server(tmp) as wire_url:
        config = {
            "GEMINI_API_KEY": "bench-key",
            "GEMINI_BASE_URL": wire_url,
            "GEMINI_MODEL": "gemini-bench",
            "RATELIMIT_ENABLED": False,
        }
        for name, url in targets:
            texts = Texts()
            store = corpus.open_store(name, name, url, **config)
            load(store, [texts.chunk() for _ in range(args.chunks)])
            if name != "sqlite":
                corpus.analyze(store)
            results[name] = run_turns(store, args, texts)
            with store.app.app_context():
                if name != "sqlite":
                    db.drop_all()
                db.engine.dispose()
            store.app.extensions["gemini"].close()
    return results


def report(results: dict[str, dict[str, Any]], args: Any) -> str:
    """A table per store and the verdict against the target."""
    lines = [
        f"{args.chunks} chunks, {args.turns} timed turns per kind after {args.warmup} warm-up, "
        "Flask test client, wire server as a process"
    ]
    for store, result in results.items():
        lines.append(f"{store}:{'p50 ms':>34}{'p90 ms':>10}")
        for kind, label in LABELS.items():
            row = result[kind]
            lines.append(f"  {label:30}{row['p50_ms']:>8.1f}{row['p90_ms']:>10.1f}")
        sourced = result["turns_with_sources"]
        lines.append(
            f"  added p50 {result['added_p50_ms']:.2f} ms; besides the embedding call "
            f"{result['added_besides_embedding_ms']:.2f} ms (target < {TARGET_MS:.0f} ms: "
            f"{'met' if result['met'] else 'NOT met'}); replies with sources: "
            f"{sourced['grounded']}/{args.turns} grounded, {sourced['plain']}/{args.turns} plain"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chatapp-bench-") as tmp:
        results = benchmark(args, Path(tmp))
    print(report(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
