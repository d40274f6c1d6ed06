"""Benchmark retrieval quality on a small labelled set: recall@1/@3/@10 and MRR per method.

One command (``make bench`` runs it)::

    python -m bench.quality

``bench/data/retrieval_quality.json`` holds 30 passages (in pairs on near topics) and 30
questions, each answered by one passage. The passages are embedded through the real SDK
against the local wire server (whose embeddings sum hashed word vectors, so shared words
mean similar vectors), stored in SQLite, and every question is searched for.

Three methods, compared in one run: full-text alone (``knowledge.fulltext``), vector alone
(``knowledge.vectors``), and the hybrid retrieval chat turns use (``knowledge.retrieval``:
both halves fused by reciprocal rank fusion).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app

from bench import corpus, harness
from chatapp.extensions import db
from chatapp.gemini import get_model
from chatapp.models import Chunk, Document, User
from chatapp.services.knowledge import fulltext, retrieval, vectors

DATA = Path(__file__).resolve().parent / "data" / "retrieval_quality.json"
K = 10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the labelled set")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def load_passages(passages: list[dict[str, str]], collection_id: uuid.UUID) -> dict[int, str]:
    """One document and chunk per passage, embedded; returns chunk id -> passage id."""
    model = current_app.config["GEMINI_EMBEDDING_MODEL"]
    embeddings = get_model().embed([p["text"] for p in passages], "RETRIEVAL_DOCUMENT")
    chunk_ids = {}
    for passage, values in zip(passages, embeddings, strict=True):
        document = Document(
            collection_id=collection_id,
            title=passage["title"],
            mime_type="text/plain",
            content_hash=passage["id"],
            text=passage["text"],
            status="ready",
        )
        db.session.add(document)
        db.session.flush()
        chunk = Chunk(
            document_id=document.id,
            collection_id=collection_id,
            position=0,
            text=passage["text"],
            start_char=0,
            end_char=len(passage["text"]),
        )
        vectors.set_embedding(chunk, values, model)
        db.session.add(chunk)
        db.session.flush()
        chunk_ids[chunk.id] = passage["id"]
    db.session.commit()
    return chunk_ids


def vector_method(user: User) -> Callable[[str], list[int]]:
    """Vector search alone: embed the question, the K nearest chunks."""
    config = current_app.config

    def search(question: str) -> list[int]:
        (query,) = get_model().embed([question], "RETRIEVAL_QUERY")
        found = vectors.nearest(user, query, config["GEMINI_EMBEDDING_MODEL"], len(query), None, K)
        return [chunk_id for chunk_id, _ in found]

    return search


def fulltext_method(user: User) -> Callable[[str], list[int]]:
    """Full-text search alone (FTS5 here): the K best chunks for the question's words."""

    def search(question: str) -> list[int]:
        return [chunk_id for chunk_id, _ in fulltext.search(user, question, None, K)]

    return search


def fused_method(user: User) -> Callable[[str], list[int]]:
    """What a grounded turn uses: both halves, fused (reciprocal rank fusion), top K."""

    def search(question: str) -> list[int]:
        return [
            passage.chunk_id for passage in retrieval.retrieve(user, question, None, K).passages
        ]

    return search


METHODS: dict[str, Callable[[User], Callable[[str], list[int]]]] = {
    "fulltext": fulltext_method,
    "vector": vector_method,
    "fused": fused_method,
}


def scores(ranks: list[int | None]) -> dict[str, float]:
    """recall@1/@3/@10 and mean reciprocal rank from each question's 1-based answer rank."""
    total = len(ranks)
    out = {f"recall@{n}": sum(1 for r in ranks if r and r <= n) / total for n in (1, 3, K)}
    out["mrr"] = sum(1 / r for r in ranks if r) / total
    return out


def benchmark(data: dict[str, Any], tmp: Path) -> dict[str, dict[str, float]]:
    """Every method over every question."""
    results = {}
    with harness.wire_server(tmp) as wire_url:
        config = {"GEMINI_API_KEY": "bench-key", "GEMINI_BASE_URL": wire_url}
        store = corpus.open_store("sqlite", "sqlite", corpus.sqlite_url(tmp), **config)
        with store.app.app_context():
            passage_of = load_passages(data["passages"], store.collections["alice"])
            user = store.user("alice")
            for name, method in METHODS.items():
                search = method(user)
                ranks = []
                for item in data["questions"]:
                    found = [passage_of.get(chunk_id) for chunk_id in search(item["question"])]
                    ranks.append(
                        found.index(item["answer"]) + 1 if item["answer"] in found else None
                    )
                results[name] = scores(ranks)
        store.app.extensions["gemini"].close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per method."""
    args = parse_args(argv)
    data = json.loads(args.data.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        results = benchmark(data, Path(tmp))
    print(f"{len(data['questions'])} questions over {len(data['passages'])} passages")
    for name, values in results.items():
        print(f"  {name:<10} " + "  ".join(f"{key} {value:.3f}" for key, value in values.items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
