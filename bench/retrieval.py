"""Benchmark vector retrieval: latency and recall@10 at growing corpus sizes, per path.

One command (``make bench`` runs it with ``RETRIEVAL_ARGS``)::

    python -m bench.retrieval --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

1. builds a synthetic corpus of word-sum vectors (bench/corpus.py) and loads it, in steps
   up to each of ``--sizes``, into three stores: SQLite (exact, numpy over the BLOBs), PostgreSQL
   without pgvector (exact over ``real[]``) and PostgreSQL with pgvector (HNSW index, rebuilt
   after each load). alice owns 1% of the chunks, bob the other 99%;
2. times ``vectors.nearest`` (what retrieval calls, in-process) for ``--queries`` questions
   per user and path: p50/p99 ms. On pgvector also with the small-user shortcut turned off
   (``hnsw``: the index's filtered iterative scan even for alice's 1%);
3. measures recall@10 of every path against an exact numpy reference, in the same run.

Targets (issue 12): pgvector p50 < 20 ms at 100k; SQLite p50 < 50 ms at 10k; recall@10 of the
filtered HNSW path >= 0.95 for alice (1% of all chunks). Without ``--database-url`` only
SQLite runs; ``--stores`` picks fewer stores (e.g. ``sqlite,pgvector``: the exact ``real[]``
path is slow to measure at 100k). A path slower than ``--budget`` seconds per cell is cut
short (n is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from bench import corpus, harness
from chatapp.extensions import db
from chatapp.services.knowledge import vectors
from tests.support import schemas

K = 10
OWNERS_SHARE = 0.01  # alice's share of all chunks
TARGETS = {"pgvector_p50_ms_100k": 20.0, "sqlite_p50_ms_10k": 50.0, "hnsw_recall_1pct": 0.95}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes, ascending")
    parser.add_argument("--dim", type=int, default=768, help="embedding dimensions")
    parser.add_argument("--queries", type=int, default=100, help="questions per user and path")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per cell at most")
    parser.add_argument("--database-url", default="", help="PostgreSQL (pgvector installable)")
    parser.add_argument(
        "--stores",
        default="sqlite,postgres-exact,pgvector",
        help="which stores to measure (the PostgreSQL ones need --database-url)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    return parser.parse_args(argv)


class Reference:
    """Every vector loaded so far, by owner, in chunk-id order, for exact answers in numpy."""

    def __init__(self, dim: int) -> None:
        self.vectors = {"alice": np.empty((0, dim), "<f4"), "bob": np.empty((0, dim), "<f4")}
        self.ids: dict[str, list[int]] = {"alice": [], "bob": []}

    def add(self, owner: str, embeddings: np.ndarray, first_id: int) -> None:
        """Remember ``embeddings`` as chunks ``first_id``, ``first_id + 1``, ..."""
        self.vectors[owner] = np.vstack([self.vectors[owner], embeddings])
        self.ids[owner] += list(range(first_id, first_id + len(embeddings)))

    def top(self, owner: str, query: np.ndarray) -> list[int]:
        """The exact top K chunk ids of ``owner`` for ``query``."""
        scores = self.vectors[owner] @ query
        best = np.argsort(-scores, kind="stable")[:K]
        return [self.ids[owner][i] for i in best]


def grow(stores: list[corpus.Store], data: corpus.Corpus, ref: Reference, size: int) -> None:
    """Load chunks until every store holds ``size``: alice's share first, then bob's."""
    missing = size - stores[0].loaded
    alices = round(missing * OWNERS_SHARE)
    for owner, rows in (("alice", alices), ("bob", missing - alices)):
        embeddings = data.chunks(rows)
        ref.add(owner, embeddings, first_id=stores[0].loaded + 1)
        for store in stores:
            if store.kind == "pgvector":
                corpus.drop_index(store, data.dim)
            started = time.perf_counter()
            corpus.add(store, embeddings, owner)
            seconds = time.perf_counter() - started
            print(f"  loaded {rows} chunks of {owner} into {store.name} in {seconds:.1f} s")


def timed(search: Callable[[np.ndarray], list[int]], queries: np.ndarray, budget: float):
    """Run ``search`` per query (at least 3, until ``budget`` seconds); latencies and answers."""
    latencies, answers = [], []
    deadline = time.perf_counter() + budget
    for query in queries:
        started = time.perf_counter()
        answers.append(search(query))
        latencies.append(time.perf_counter() - started)
        if len(latencies) >= 3 and time.perf_counter() > deadline:
            break
    return latencies, answers


def recall(answers: list[list[int]], expected: list[list[int]]) -> float:
    """Mean share of the exact top K found."""
    return float(
        np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(answers, expected, strict=True)])
    )


def measure(
    store: corpus.Store, user: str, queries: np.ndarray, ref: Reference, args: Any, hnsw: bool
) -> dict[str, float]:
    """p50/p99 ms and recall@10 of ``user``'s searches on ``store``."""
    expected = [ref.top(user, query) for query in queries]
    saved = vectors.EXACT_BELOW
    vectors.EXACT_BELOW = 1 if hnsw else saved
    try:
        with store.app.app_context():
            person = store.user(user)
            db.session.expunge(person)  # each search's rollback must not reload the user

            def search(query: np.ndarray) -> list[int]:
                found = vectors.nearest(person, query, corpus.MODEL, args.dim, None, K)
                db.session.rollback()
                return [chunk_id for chunk_id, _ in found]

            search(queries[0])  # warm the caches and the layout detection
            latencies, answers = timed(search, queries, args.budget)
    finally:
        vectors.EXACT_BELOW = saved
    return {
        "p50_ms": harness.percentile(latencies, 50) * 1000,
        "p99_ms": harness.percentile(latencies, 99) * 1000,
        "n": len(latencies),
        "recall": recall(answers, expected[: len(answers)]),
    }


def open_stores(args: Any, tmp: Path) -> list[corpus.Store]:
    """The chosen ``--stores``: SQLite, and the PostgreSQL ones with ``--database-url``."""
    chosen = set(args.stores.split(","))
    stores = []
    if "sqlite" in chosen:
        stores.append(corpus.open_store("sqlite", "sqlite", corpus.sqlite_url(tmp)))
    if args.database_url and "postgres-exact" in chosen:
        exact = schemas.schema_url(args.database_url, "bench_exact")
        stores.append(corpus.open_store("postgres-exact", "postgres-exact", exact))
    if args.database_url and "pgvector" in chosen:
        stores.append(corpus.open_store("pgvector", "pgvector", args.database_url))
    for store in stores:
        with store.app.app_context():
            kind = vectors.layout().kind
        if LAYOUTS[store.name] != kind:
            raise SystemExit(f"{store.name}: the database offers {kind!r} (pgvector missing?)")
    return stores


LAYOUTS = {"sqlite": "sqlite", "postgres-exact": "real[]", "pgvector": "pgvector"}


def round_trip(store: corpus.Store, count: int) -> dict[str, float]:
    """The baseline: ``SELECT 1`` and a rollback, the floor under every search's latency."""
    with store.app.app_context():
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
            latencies.append(time.perf_counter() - started)
    return {
        "p50_ms": harness.percentile(latencies, 50) * 1000,
        "p99_ms": harness.percentile(latencies, 99) * 1000,
        "n": count,
        "recall": 1.0,
    }


def measure_size(
    stores: list[corpus.Store], queries: np.ndarray, ref: Reference, args: Any
) -> dict[str, Any]:
    """Every cell at the current size: per path and user (and HNSW forced for alice)."""
    cells: dict[str, Any] = {}
    for store in stores:
        if store.kind == "pgvector":
            started = time.perf_counter()
            corpus.build_index(store, args.dim)
            cells["hnsw_build_s"] = time.perf_counter() - started
        elif store.kind == "postgres-exact":
            corpus.analyze(store)
        cells[f"{store.name}/SELECT 1"] = round_trip(store, len(queries))
        for user in ("alice", "bob"):
            cells[f"{store.name}/{user}"] = measure(store, user, queries, ref, args, False)
        if store.kind == "pgvector":
            cells["pgvector-hnsw/alice"] = measure(store, "alice", queries, ref, args, True)
    return cells


def benchmark(args: Any, tmp: Path) -> dict[str, Any]:
    """Load, index and measure at every size; returns results by size."""
    data = corpus.Corpus(args.dim)
    ref = Reference(args.dim)
    queries = data.queries(args.queries)
    stores = open_stores(args, tmp)
    results: dict[str, Any] = {}
    try:
        for size in (int(value) for value in args.sizes.split(",")):
            print(f"{size} chunks:")
            grow(stores, data, ref, size)
            results[str(size)] = measure_size(stores, queries, ref, args)
            print(table({str(size): results[str(size)]}))
    finally:
        for store in stores:
            with store.app.app_context():
                if store.kind != "sqlite":
                    db.drop_all()
                db.engine.dispose()
        if any(store.kind == "postgres-exact" for store in stores):
            schemas.drop_schema(args.database_url, "bench_exact")
    return results


def table(results: dict[str, Any]) -> str:
    """The results as an aligned text table."""
    lines = [
        f"{'chunks':>7}  {'path/user':<22} {'p50 ms':>8} {'p99 ms':>8} {'n':>4} {'recall@10':>9}"
    ]
    for size, cells in results.items():
        for name, cell in cells.items():
            if isinstance(cell, dict):
                lines.append(
                    f"{size:>7}  {name:<22} {cell['p50_ms']:8.2f} {cell['p99_ms']:8.2f}"
                    f" {cell['n']:4d} {cell['recall']:9.3f}"
                )
        if "hnsw_build_s" in cells:
            lines.append(f"{size:>7}  HNSW index build: {cells['hnsw_build_s']:.1f} s")
    return "\n".join(lines)


def verdicts(results: dict[str, Any]) -> list[str]:
    """Each target that this run could check, met or not."""
    out = []
    checks = [
        ("100000", "pgvector/bob", "p50_ms", "pgvector_p50_ms_100k", "<"),
        ("100000", "pgvector/alice", "p50_ms", "pgvector_p50_ms_100k", "<"),
        ("10000", "sqlite/bob", "p50_ms", "sqlite_p50_ms_10k", "<"),
        ("100000", "pgvector-hnsw/alice", "recall", "hnsw_recall_1pct", ">="),
    ]
    for size, cell, metric, target, sense in checks:
        if cell in results.get(size, {}):
            value, goal = results[size][cell][metric], TARGETS[target]
            met = value < goal if sense == "<" else value >= goal
            verdict = "met" if met else "NOT met"
            out.append(f"{cell} {metric} at {size}: {value:.3f} (target {sense} {goal}) {verdict}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table and the targets."""
    args = parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        results = benchmark(args, Path(tmp))
    print(f"\nload average (1 min) at start {load:.1f}, at end {os.getloadavg()[0]:.1f}")
    print(table(results))
    for line in verdicts(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
