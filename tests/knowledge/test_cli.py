"""Operator commands: ingest, reindex and worker, through ``runner.invoke``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from chatapp.extensions import db
from chatapp.models import Chunk, Collection, Document
from chatapp.services import jobs
from tests.knowledge.conftest import SMALL
from tests.support.app import build_app, close_app, wire_config
from tests.support.documents import pdf_bytes


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory of documents, one of them broken, and a file of an unsupported type."""
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("Alpha text about apples.\n\nMore about apples.")
    (root / "b.md").write_text("# Bananas\n\nBananas are yellow.")
    (root / "sub" / "c.html").write_text("<html><body><p>Cherries are red.</p></body></html>")
    (root / "sub" / "d.pdf").write_bytes(pdf_bytes(["Dates grow on palms."]))
    (root / "sub" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # not walked: not supported
    return root


def documents(app: Flask) -> dict[str, Document]:
    """Every document by file name."""
    with app.app_context():
        rows = list(db.session.scalars(select(Document)))
        db.session.expunge_all()
    return {Path(d.source or d.title).name: d for d in rows}


def test_ingest_indexes_a_tree_and_skips_unchanged_files(app, tree):
    """Every supported file is added and indexed; a second run adds nothing."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ingest", str(tree), "--collection", "Fruit", "--shared"])
    assert result.exit_code == 0, result.output
    assert "4 added, 0 updated, 0 unchanged, 0 failed." in result.output
    found = documents(app)
    assert sorted(found) == ["a.txt", "b.md", "c.html", "d.pdf"]
    assert {d.status for d in found.values()} == {"ready"}
    with app.app_context():
        (collection,) = db.session.scalars(select(Collection)).all()
        assert collection.name == "Fruit" and collection.owner_id is None
    again = runner.invoke(args=["ingest", str(tree), "--collection", "Fruit", "--shared"])
    assert again.exit_code == 0 and "0 added, 0 updated, 4 unchanged" in again.output
    (tree / "a.txt").write_text("Alpha text, now about apricots.")
    changed = runner.invoke(args=["ingest", str(tree), "--collection", "Fruit", "--shared"])
    assert "0 added, 1 updated, 3 unchanged" in changed.output
    updated = documents(app)["a.txt"]
    assert updated.status == "ready" and "apricots" in updated.text and updated.generation == 2


def test_ingest_goes_on_past_a_failure_and_exits_1(app, tree):
    """A broken file is reported; the others are still ingested."""
    broken = tree / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 garbage")
    result = app.test_cli_runner().invoke(
        args=["ingest", str(tree), "--collection", "Mine", "--user", "alice"]
    )
    assert result.exit_code == 1
    assert "4 added" in result.output and "1 failed" in result.output
    assert "broken.pdf" in result.output
    with app.app_context():
        (collection,) = db.session.scalars(select(Collection)).all()
        assert collection.owner_id is not None


def test_ingest_needs_an_owner(app, tree):
    """Neither or both of --shared and --user is a usage error."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ingest", str(tree), "--collection", "X"]).exit_code == 2
    result = runner.invoke(args=["ingest", str(tree), "--collection", "X", "--user", "nobody"])
    assert result.exit_code == 1 and "No user named" in result.output


def test_reindex_adds_vectors_once_a_key_is_set(app, tree, database_url, wire):
    """Documents indexed offline get vectors from `reindex` once the model can embed."""
    runner = app.test_cli_runner()
    runner.invoke(args=["ingest", str(tree), "--collection", "Fruit", "--shared"])
    assert {d.embedded for d in documents(app).values()} == {False}
    keyed = build_app(database_url, fresh=False, **wire_config(wire, **SMALL))
    try:
        result = keyed.test_cli_runner().invoke(args=["reindex"])
        assert result.exit_code == 0, result.output
        assert "4 documents re-indexed, 0 failed." in result.output
        assert {d.embedded for d in documents(keyed).values()} == {True}
        with keyed.app_context():
            dims = set(db.session.scalars(select(Chunk.embedding_dim)))
            assert dims == {16}
        again = keyed.test_cli_runner().invoke(args=["reindex"])
        assert "0 documents re-indexed" in again.output
        with keyed.app_context():  # the embedding model changed: everything is stale
            db.session.execute(update(Chunk).values(embedding_model="old-model"))
            db.session.commit()
        changed = keyed.test_cli_runner().invoke(args=["reindex"])
        assert "4 documents re-indexed" in changed.output
    finally:
        close_app(keyed)


def test_reindex_without_a_key_says_so(app):
    """Offline, there is nothing to embed with."""
    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 1 and "GEMINI_API_KEY" in result.output


def test_worker_once_runs_queued_jobs(app, tree):
    """`worker --once` runs what `ingest --no-wait` queued."""
    runner = app.test_cli_runner()
    runner.invoke(args=["ingest", str(tree), "--collection", "F", "--shared", "--no-wait"])
    assert {d.status for d in documents(app).values()} == {"pending"}
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "Ran 4 jobs." in result.output
    assert {d.status for d in documents(app).values()} == {"ready"}


def test_background_runner_thread_indexes_an_upload(app, tree):
    """The in-process runner thread picks up a queued document without anyone calling it."""
    app.test_cli_runner().invoke(
        args=["ingest", str(tree / "a.txt"), "--collection", "F", "--shared", "--no-wait"]
    )
    runner = jobs.Runner(app).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if documents(app)["a.txt"].status == "ready":
                break
            time.sleep(0.05)
    finally:
        runner.stop()
    assert documents(app)["a.txt"].status == "ready"
    assert not runner.thread.is_alive()
