"""Vector search: the k nearest chunks a user may read, exact or through pgvector's HNSW index.

Each test runs on SQLite (exact), PostgreSQL with pgvector (HNSW), and PostgreSQL without it
(exact over ``real[]``, in a schema where the extension is not on the search path). In CI
(``CI=true``) a PostgreSQL without pgvector fails the pgvector runs instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, select, text

from chatapp.extensions import db
from chatapp.models import Chunk, Collection, Document, User
from chatapp.services import accounts
from chatapp.services.knowledge import vector_schema, vectors
from tests.support import schemas
from tests.support.app import POSTGRES_URL, PW_HASH, build_app, close_app

MODEL = "gemini-embedding-001"
DIM = 768
EXACT_SCHEMA = "k_vectors_exact"


def require_pgvector() -> None:
    """Fail in CI, skip elsewhere, when this PostgreSQL has no pgvector."""
    if vectors.layout().kind == "pgvector":
        return
    message = "pgvector: the vector extension is not installed in this database (see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=["sqlite", "pgvector", "postgres-exact"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An app context on one of the three vector paths; yields the path's name."""
    if request.param != "sqlite" and not POSTGRES_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests against it")
    if request.param == "postgres-exact":
        app = build_app(schemas.schema_url(POSTGRES_URL, EXACT_SCHEMA), fresh=False)
        with app.app_context():
            db.create_all()
            for name in ("alice", "bob"):
                accounts.create_user(name, f"{name}@example.com", "", password_hash=PW_HASH)
    else:
        url = f"sqlite:///{tmp_path / 'v.db'}" if request.param == "sqlite" else POSTGRES_URL
        app = build_app(url)
    with app.app_context():
        expected = {"sqlite": "sqlite", "pgvector": "pgvector", "postgres-exact": "real[]"}
        if request.param == "pgvector":
            require_pgvector()
        assert vectors.layout().kind == expected[request.param]
        yield request.param
        db.session.rollback()
    close_app(app)


def user(name: str) -> User:
    """A test user by name."""
    found = accounts.find_user(name)
    assert found is not None
    return found


def collection(owner: User | None, name: str = "notes") -> uuid.UUID:
    """A new collection (``owner`` None: shared)."""
    item = Collection(owner_id=owner.id if owner else None, name=name)
    db.session.add(item)
    db.session.flush()
    return item.id


def add_chunks(
    collection_id: uuid.UUID,
    embeddings: np.ndarray,
    model: str = MODEL,
    generation: int = 0,
    document_generation: int | None = None,
) -> list[int]:
    """A document whose chunks carry ``embeddings``; returns the chunk ids in order."""
    document = Document(
        collection_id=collection_id,
        title="doc",
        mime_type="text/plain",
        content_hash=uuid.uuid4().hex,
        text="text",
        status="ready",
        generation=generation if document_generation is None else document_generation,
    )
    db.session.add(document)
    db.session.flush()
    chunks = []
    for position, values in enumerate(embeddings):
        chunk = Chunk(
            document_id=document.id,
            collection_id=collection_id,
            generation=generation,
            position=position,
            text=f"passage {position}",
            start_char=0,
            end_char=1,
        )
        vectors.set_embedding(chunk, values.tolist(), model)
        chunks.append(chunk)
    db.session.add_all(chunks)
    db.session.commit()
    return [chunk.id for chunk in chunks]


def random_unit(rows: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """``rows`` random unit vectors."""
    values = np.random.default_rng(seed).standard_normal((rows, dim)).astype("<f4")
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def brute_force(ids: list[int], embeddings: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """The reference: every score computed in Python, best first, ties by id."""
    scores = embeddings @ (query / np.linalg.norm(query))
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))[:k]]


@pytest.fixture
def force_hnsw(store: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """On pgvector, send every search through the HNSW index; count the index searches."""
    calls: list[int] = []
    if store == "pgvector":
        monkeypatch.setattr(vectors, "EXACT_BELOW", 1)
        search = vectors.hnsw_search

        def counted(*args: Any, **kwargs: Any) -> list[tuple[int, float]]:
            calls.append(1)
            return search(*args, **kwargs)

        monkeypatch.setattr(vectors, "hnsw_search", counted)
    return calls


def test_nearest_matches_brute_force(store: str, force_hnsw: list[int]) -> None:
    """Order and scores equal an exact Python reference over the user's chunks."""
    alice = user("alice")
    own = add_chunks(collection(alice), random_unit(40, seed=1))
    shared = add_chunks(collection(None, "shared"), random_unit(20, seed=2))
    ids, embeddings = own + shared, np.vstack([random_unit(40, seed=1), random_unit(20, seed=2)])
    query = random_unit(1, seed=3)[0] * 3  # any length: the search normalises it

    found = vectors.nearest(alice, query.tolist(), MODEL, DIM, None, k=10)

    assert [chunk_id for chunk_id, _ in found] == brute_force(ids, embeddings, query, 10)
    expected = embeddings @ (query / np.linalg.norm(query))
    for chunk_id, score in found:
        assert score == pytest.approx(float(expected[ids.index(chunk_id)]), abs=1e-4)
    assert len(force_hnsw) == (1 if store == "pgvector" else 0)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sqlite_scan_in_batches_ranks_like_one(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's numpy scan read 7 BLOBs at a time ranks as the reference, ties by chunk id."""
    monkeypatch.setattr(vectors, "SCAN_BATCH", 7)
    alice = user("alice")
    query = random_unit(1, seed=20)[0]
    spread = random_unit(30, seed=21)
    # Equal scores on both sides of batch boundaries: copies of the query and of one chunk.
    embeddings = np.vstack([spread[:10], [query] * 4, spread[10:20], [spread[0]] * 5, spread[20:]])
    ids = add_chunks(collection(alice), embeddings)

    found = vectors.nearest(alice, query, MODEL, DIM, None, k=12)

    assert [chunk_id for chunk_id, _ in found] == brute_force(ids, embeddings, query, 12)
    assert [chunk_id for chunk_id, _ in found][:4] == ids[10:14]


def test_other_users_private_chunks_never_returned(store: str, force_hnsw: list[int]) -> None:
    """bob's private passages stay out, even exact matches and when his ids are asked for."""
    alice, bob = user("alice"), user("bob")
    query = random_unit(1, seed=4)[0]
    bobs_collection = collection(bob, "bob's")
    bobs = set(add_chunks(bobs_collection, np.vstack([query] * 5)))
    alices_collection = collection(alice)
    alices = add_chunks(alices_collection, random_unit(5, seed=5))
    shared = add_chunks(collection(None, "shared"), random_unit(5, seed=6))

    everything = {chunk_id for chunk_id, _ in vectors.nearest(alice, query, MODEL, DIM, None, 20)}
    asked_for_bobs = vectors.nearest(alice, query, MODEL, DIM, [bobs_collection], 20)
    only_own = vectors.nearest(alice, query, MODEL, DIM, [alices_collection, bobs_collection], 20)

    assert everything == set(alices) | set(shared)
    assert asked_for_bobs == []
    assert {chunk_id for chunk_id, _ in only_own} == set(alices)
    assert {chunk_id for chunk_id, _ in vectors.nearest(bob, query, MODEL, DIM, None, 3)} <= bobs


def test_several_chosen_collections_all_searched(store: str, force_hnsw: list[int]) -> None:
    """Chosen collections (a chat turn's: own and shared, one repeated) are all searched,
    and only they: chunks of alice's unchosen collection stay out."""
    alice = user("alice")
    own, shared, unchosen = collection(alice), collection(None, "shared"), collection(alice, "x")
    ids = add_chunks(own, random_unit(6, seed=30)) + add_chunks(shared, random_unit(6, seed=31))
    add_chunks(unchosen, random_unit(6, seed=32))
    embeddings = np.vstack([random_unit(6, seed=30), random_unit(6, seed=31)])
    query = random_unit(1, seed=33)[0]

    found = vectors.nearest(alice, query, MODEL, DIM, [shared, own, shared], 8)

    assert [chunk_id for chunk_id, _ in found] == brute_force(ids, embeddings, query, 8)
    assert len(force_hnsw) == (1 if store == "pgvector" else 0)


def test_only_live_generation(store: str, force_hnsw: list[int]) -> None:
    """Chunks of an old or unfinished generation are never found, however close."""
    alice = user("alice")
    query = random_unit(1, seed=7)[0]
    notes = collection(alice)
    stale = add_chunks(notes, np.vstack([query] * 3), generation=0, document_generation=1)
    unfinished = add_chunks(notes, np.vstack([query] * 3), generation=2, document_generation=1)
    live = add_chunks(notes, random_unit(4, seed=8), generation=1)

    found = {chunk_id for chunk_id, _ in vectors.nearest(alice, query, MODEL, DIM, None, 10)}

    assert found == set(live)
    assert not found & (set(stale) | set(unfinished))


def test_models_and_dimensions_never_mixed(store: str, force_hnsw: list[int]) -> None:
    """Vectors of another model, or of another dimension, are not compared with the query."""
    alice = user("alice")
    query = random_unit(1, seed=9)[0]
    notes = collection(alice)
    ours = add_chunks(notes, random_unit(3, seed=10))
    add_chunks(notes, np.vstack([query] * 3), model="text-embedding-004")
    small = add_chunks(notes, random_unit(3, dim=16, seed=11))

    same_model = vectors.nearest(alice, query, MODEL, DIM, None, 10)
    small_found = vectors.nearest(alice, random_unit(1, 16, seed=12)[0], MODEL, 16, None, 10)

    assert {chunk_id for chunk_id, _ in same_model} == set(ours)
    assert {chunk_id for chunk_id, _ in small_found} == set(small)
    with pytest.raises(ValueError, match="dimensions"):
        vectors.nearest(alice, query[:16], MODEL, DIM, None, 10)


def test_embedding_round_trips_and_is_unit_length(store: str) -> None:
    """The stored BLOB (and on PostgreSQL its mirror) holds the normalised vector."""
    alice = user("alice")
    values = np.arange(1, 17, dtype="<f4")
    (chunk_id,) = add_chunks(collection(alice), values[None, :])
    chunk = db.session.get(Chunk, chunk_id)
    assert chunk is not None and chunk.embedding_dim == 16 and chunk.embedding_model == MODEL
    stored = np.array(vectors.from_blob(chunk.embedding or b""))
    assert stored == pytest.approx(values / np.linalg.norm(values), abs=1e-6)
    if store == "sqlite":
        return
    mirror = f"CAST({vector_schema.COLUMN} AS real[])"
    row = db.session.execute(text(f"SELECT {mirror} FROM chunks WHERE id = :id"), {"id": chunk_id})
    assert np.array(row.scalar_one()) == pytest.approx(stored, abs=1e-7)
    chunk.embedding = None
    db.session.commit()
    row = db.session.execute(text(f"SELECT {mirror} FROM chunks WHERE id = :id"), {"id": chunk_id})
    assert row.scalar_one() is None


OTHERS = 100_000
SMALL_DIM = 16  # an index of its own, so 100,000 vectors build in seconds


def _add_others(owner: User, rows: int, dim: int) -> None:
    """``rows`` random unit vectors in ``owner``'s private collection, inserted in bulk."""
    others = collection(owner, "everyone else's")
    add_chunks(others, random_unit(1, dim, seed=13))
    document_id = db.session.scalars(select(Document.id).filter_by(collection_id=others)).one()
    db.session.execute(
        text(
            "INSERT INTO chunks (document_id, collection_id, generation, position, text,"
            " start_char, end_char, embedding_model, embedding_dim, embedding_vec)"
            " SELECT :document, :collection, 0, g, 'other', 0, 1, :model, :dim,"
            " l2_normalize((SELECT array_agg(random() - 0.5) FROM generate_series(1, :dim)"
            " WHERE g > 0)::vector) FROM generate_series(1, :rows) AS g"
        ),
        {"document": document_id, "collection": others, "model": MODEL, "dim": dim, "rows": rows},
    )
    db.session.commit()


@pytest.fixture
def small_index(store: str) -> Iterator[None]:
    """An HNSW index for SMALL_DIM vectors (built after the data, cheaply), dropped after."""
    yield
    db.session.rollback()
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP INDEX IF EXISTS {vector_schema.index_name(SMALL_DIM)}"))
    vectors.forget_layout()


@pytest.mark.parametrize("store", ["pgvector"], indirect=True)
def test_twenty_chunks_among_100k_of_others_all_found(
    store: str, small_index: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user with 20 chunks among 100,000 of others' gets all k, also through the index."""
    alice, bob = user("alice"), user("bob")
    _add_others(bob, OTHERS, SMALL_DIM)
    with db.engine.begin() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        vector_schema.create_hnsw_index(connection, SMALL_DIM, m=4, ef_construction=16)
    vectors.forget_layout()
    assert SMALL_DIM in vectors.layout().indexed_dims
    own = random_unit(20, SMALL_DIM, seed=14)
    ids = add_chunks(collection(alice), own)
    query = random_unit(1, SMALL_DIM, seed=15)[0]
    expected = brute_force(ids, own, query, 10)

    found = vectors.nearest(alice, query, MODEL, SMALL_DIM, None, 10)
    assert [chunk_id for chunk_id, _ in found] == expected

    # Now without the shortcut for small users, and with the planner's other ways to
    # alice's chunks removed (inside this transaction only): the index's filtered scan alone.
    for name in ("ix_chunks_collection_id", "ix_chunks_document_generation"):
        db.session.execute(text(f"DROP INDEX {name}"))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    monkeypatch.setattr(vectors, "EXACT_BELOW", 1)
    monkeypatch.setattr(vectors, "MAX_SCAN_TUPLES", 2 * OTHERS)
    monkeypatch.setattr(vectors, "SCAN_MEM_MULTIPLIER", 100)
    statements: list[tuple[str, Any]] = []
    event.listen(db.engine, "before_cursor_execute", _capture(statements))
    through_index = vectors.hnsw_search(
        vectors.unit(query), SMALL_DIM, vectors.filters(alice, MODEL, SMALL_DIM, None), 10
    )
    statement, parameters = next(s for s in reversed(statements) if "<#>" in s[0])
    plan = db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)

    assert vector_schema.index_name(SMALL_DIM) in "\n".join(row[0] for row in plan)
    # All 20 come back from the index (in relaxed order) and are re-sorted exactly.
    assert [chunk_id for chunk_id, _ in through_index] == expected


def _capture(statements: list[tuple[str, Any]]) -> Any:
    """A ``before_cursor_execute`` listener appending each statement and its parameters."""

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    return listener


@pytest.mark.parametrize("store", ["pgvector"], indirect=True)
def test_query_vector_text_gives_pgvector_the_same_floats(store: str) -> None:
    """The short text form of a query vector parses to the very float4 values that each
    double's full ``repr`` parses to (so rankings cannot move by a rounding)."""
    rng = np.random.default_rng(40)
    values = rng.standard_normal(DIM) * 10.0 ** rng.uniform(-8, 8, DIM)
    full = "[" + ",".join(map(repr, values.tolist())) + "]"

    same = db.session.execute(
        text("SELECT CAST(:short AS vector) = CAST(:full AS vector)"),
        {"short": vector_schema.vector_text(values.tolist()), "full": full},
    ).scalar_one()

    assert same is True
