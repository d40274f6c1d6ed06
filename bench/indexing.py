"""Benchmark indexing throughput: chunks embedded in batches and stored, per database.

One command (``make bench`` runs it with ``INDEXING_ARGS``)::

    python -m bench.indexing --chunks 2000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

1. starts the local Gemini wire server as a process (``tests.support.gemini_wire``, whose
   embeddings hash words) and a chatapp app pointed at it with the real google-genai SDK;
2. baseline, same run: the embedding calls alone (``EMBEDDING_BATCH`` texts per call);
3. per store (SQLite; PostgreSQL exact; PostgreSQL with pgvector and its HNSW index): embed
   each batch, store its chunks with ``vectors.set_embedding`` and commit: chunks/s.

TODO(lead): K1's indexing pipeline (chunking + jobs) is not on this branch; once merged,
time a whole document through it instead of the embed-and-insert loop below.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from flask import current_app

from bench import corpus, harness
from chatapp.extensions import db
from chatapp.gemini import get_model
from chatapp.models import Chunk, Document
from chatapp.services.knowledge import vectors
from tests.support import schemas

WORDS = (
    "river",
    "mountain",
    "harvest",
    "engine",
    "copper",
    "lantern",
    "orbit",
    "violin",
    "glacier",
    "bakery",
    "canyon",
    "ledger",
    "beacon",
    "compass",
    "meadow",
    "thunder",
    "quartz",
    "harbor",
    "falcon",
    "prairie",
    "turbine",
    "velvet",
    "archive",
    "cobalt",
    "saddle",
    "tundra",
    "pepper",
    "marble",
    "signal",
    "crystal",
    "anchor",
    "pollen",
    "summit",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000, help="chunks per store")
    parser.add_argument("--batch", type=int, default=100, help="texts per embedding call")
    parser.add_argument("--chars", type=int, default=1000, help="characters per chunk")
    parser.add_argument("--database-url", default="", help="PostgreSQL (pgvector installable)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


def passages(count: int, chars: int) -> list[str]:
    """``count`` distinct texts of about ``chars`` characters."""
    out = []
    for number in range(count):
        words = [WORDS[(number * 7 + i * (number % 5 + 1)) % len(WORDS)] for i in range(chars // 7)]
        out.append(f"passage {number} " + " ".join(words))
    return out


def embed_only(texts: list[str], batch: int) -> float:
    """The baseline: chunks/s of the embedding calls alone."""
    model = get_model()
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        model.embed(texts[start : start + batch], "RETRIEVAL_DOCUMENT")
    return len(texts) / (time.perf_counter() - started)


def embed_and_store(texts: list[str], batch: int, collection_id: uuid.UUID) -> float:
    """Chunks/s of embedding each batch and committing its chunks."""
    model, config = get_model(), current_app.config
    document = Document(
        collection_id=collection_id,
        title="bench",
        mime_type="text/plain",
        content_hash=uuid.uuid4().hex,
        text="",
    )
    db.session.add(document)
    db.session.commit()
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        part = texts[start : start + batch]
        chunks = []
        for offset, (text, values) in enumerate(
            zip(part, model.embed(part, "RETRIEVAL_DOCUMENT"), strict=True)
        ):
            chunk = Chunk(
                document_id=document.id,
                collection_id=collection_id,
                generation=0,
                position=start + offset,
                text=text,
                start_char=0,
                end_char=len(text),
            )
            vectors.set_embedding(chunk, values, config["GEMINI_EMBEDDING_MODEL"])
            chunks.append(chunk)
        db.session.add_all(chunks)
        db.session.commit()
    return len(texts) / (time.perf_counter() - started)


def benchmark(args: Any, tmp: Path) -> dict[str, float]:
    """Baseline and per-store throughput, all against one wire server."""
    texts = passages(args.chunks, args.chars)
    targets = [("sqlite", corpus.sqlite_url(tmp))]
    if args.database_url:
        exact = schemas.schema_url(args.database_url, "bench_exact")
        targets += [("postgres-exact", exact), ("pgvector", args.database_url)]
    results: dict[str, float] = {}
    with harness.wire_server(tmp) as wire_url:
        model_config = {"GEMINI_API_KEY": "bench-key", "GEMINI_BASE_URL": wire_url}
        for name, url in targets:
            store = corpus.open_store(name, name, url, **model_config)
            with store.app.app_context():
                if "embed_only" not in results:
                    results["embed_only"] = embed_only(texts, args.batch)
                results[name] = embed_and_store(texts, args.batch, store.collections["alice"])
                if name != "sqlite":
                    db.drop_all()
                db.engine.dispose()
            store.app.extensions["gemini"].close()
            print(f"{name}: {results[name]:.0f} chunks/s")
    if args.database_url:
        schemas.drop_schema(args.database_url, "bench_exact")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print chunks/s per store against the embedding-only baseline."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = benchmark(args, Path(tmp))
    print(f"\n{args.chunks} chunks of ~{args.chars} chars, {args.batch} per embedding call")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    for name, rate in results.items():
        share = rate / results["embed_only"]
        print(f"  {name:<15} {rate:8.0f} chunks/s  ({share:.0%} of the embedding-only rate)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
