"""The knowledge benchmarks run from one command each, at tiny sizes (no timing asserted)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.app import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def bench_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for the benchmarks ("" without TEST_DATABASE_URL)."""
    if not POSTGRES_URL:
        yield ""
        return
    name = f"bench_smoke_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def run(tmp_path: Path, module: str, *args: str) -> dict:
    """Run ``python -m bench.<module>``; return its JSON results."""
    out = tmp_path / f"{module}.json"
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text())


def test_retrieval_benchmark_reports_every_path(tmp_path: Path, bench_database: str) -> None:
    """Each size reports latency and recall per path; exact paths find the exact answer."""
    args = ["--sizes", "200,400", "--queries", "5", "--dim", "32"]
    results = run(tmp_path, "retrieval", *args, "--database-url", bench_database)

    cells = results["400"]
    paths = {"sqlite/alice", "sqlite/bob"}
    if bench_database:
        paths |= {"postgres-exact/bob", "pgvector/bob", "pgvector-hnsw/alice"}
    assert paths <= set(cells)
    assert cells["sqlite/bob"]["recall"] == 1.0
    assert all(cells[path]["p50_ms"] > 0 for path in paths)


def test_indexing_benchmark_compares_with_embedding_alone(
    tmp_path: Path, bench_database: str
) -> None:
    """Chunks/s for each store and for the embedding calls alone."""
    results = run(tmp_path, "indexing", "--chunks", "30", "--database-url", bench_database)

    assert results["embed_only"] > 0 and results["sqlite"] > 0
    if bench_database:
        assert results["pgvector"] > 0 and results["postgres-exact"] > 0


def test_quality_benchmark_finds_most_answers(tmp_path: Path) -> None:
    """Vector search over the labelled set finds the answering passage in its top 10."""
    results = run(tmp_path, "quality")

    assert results["vector"]["recall@10"] >= 0.9


def test_grounded_turns_benchmark_compares_turns_with_and_without_sources(
    tmp_path: Path, bench_database: str
) -> None:
    """Grounded turns come back with sources, plain ones without; every kind is timed."""
    args = ["--chunks", "60", "--turns", "3", "--warmup", "1"]
    results = run(tmp_path, "grounded_turns", *args, "--database-url", bench_database)

    stores = {"sqlite", "postgresql"} if bench_database else {"sqlite"}
    assert set(results) == stores
    for result in results.values():
        assert result["turns_with_sources"] == {"grounded": 3, "plain": 0}
        assert all(result[kind]["p50_ms"] > 0 for kind in ("plain", "grounded", "embedding"))
