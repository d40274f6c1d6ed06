"""Embeddings: how a chunk's vector is stored, and the nearest-neighbour half of retrieval.

Vectors are unit length, so cosine similarity is their dot product. Only chunks of a
document's current generation, embedded with the requested model and dimension, that the
user may read are searched (the readable collections are read first and named in the
query), all decided in the database with memory that grows with ``k``, not the corpus:

- SQLite: exact, numpy over the candidates' float32 BLOBs, read in batches by one query
  (one vectorised dot product per batch; only the best ``k`` are kept between batches);
- PostgreSQL with pgvector: the HNSW index with iterative scans, or exact when the user's
  candidates are few (the index's filtered scan would have to wade through everyone else's);
- PostgreSQL without pgvector: exact over the ``real[]`` mirror, with a warning once.
"""

from __future__ import annotations

import logging
import struct
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    and_,
    cast,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL

from chatapp.extensions import db
from chatapp.models import Chunk, Collection, Document, User
from chatapp.services.knowledge import vector_schema
from chatapp.services.knowledge.access import readable_collections
from chatapp.services.knowledge.vector_schema import Vector

log = logging.getLogger(__name__)

# Below this many candidate chunks an exact scan beats the HNSW index's filtered scan.
EXACT_BELOW = 2000
ITERATIVE = "relaxed_order"  # pgvector's hnsw.iterative_scan
EF_SEARCH = 200  # HNSW candidate list per scan step (pgvector's default is 40)
# The index returns OVERFETCH * k neighbours in relaxed order; the best k are kept. Measured
# (bench/retrieval.py, 100k chunks, a user holding 1%): recall@10 0.92 with 2, 0.95 with 4-5,
# 0.96 with 6; an unfiltered search costs no more (ef_search already holds that many).
OVERFETCH = 6
MAX_SCAN_TUPLES = 50_000  # how far an iterative scan may go before giving up
SCAN_MEM_MULTIPLIER = 4  # ... and how much memory (times work_mem) it may use
SCAN_BATCH = 1024  # SQLite: BLOBs (3 KB each at 768 dimensions) scored per numpy call


def to_blob(values: Sequence[float]) -> bytes:
    """Pack a vector as little-endian float32."""
    return struct.pack(f"<{len(values)}f", *values)


def from_blob(blob: bytes) -> list[float]:
    """Unpack a vector stored by :func:`to_blob`."""
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def unit(values: Sequence[float]) -> np.ndarray:
    """``values`` as a float32 unit vector (a zero vector stays zero)."""
    array = np.asarray(values, dtype="<f4")
    norm = float(np.linalg.norm(array))
    return array / np.float32(norm) if norm else array


def set_embedding(chunk: Chunk, values: Sequence[float], model: str) -> None:
    """Give ``chunk`` its (unit length) embedding, remembering the model and dimension.

    On PostgreSQL a trigger mirrors the BLOB into ``embedding_vec`` (see vector_schema).
    """
    chunk.embedding = unit(values).tobytes()
    chunk.embedding_model = model
    chunk.embedding_dim = len(values)


@dataclass(frozen=True)
class Layout:
    """How a database stores vectors: ``sqlite``, ``pgvector``, ``real[]`` or ``none``."""

    kind: str
    indexed_dims: frozenset[int] = frozenset()


_layouts: weakref.WeakKeyDictionary[Engine, Layout] = weakref.WeakKeyDictionary()
_warned: set[tuple[int, str]] = set()


def layout() -> Layout:
    """Detect (once per engine) which vector path this database offers."""
    engine = db.engine
    if engine not in _layouts:
        _layouts[engine] = _detect(engine)
    return _layouts[engine]


def forget_layout() -> None:
    """Detect again on the next search (after adding an index, for example)."""
    _layouts.clear()


def _detect(engine: Engine) -> Layout:
    """Read the column type and the HNSW indexes of ``chunks``."""
    if engine.dialect.name == "sqlite":
        return Layout("sqlite")
    with engine.connect() as connection:
        column_type = connection.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
                " to_regclass('chunks') AND attname = :column AND NOT attisdropped"
            ),
            {"column": vector_schema.COLUMN},
        ).scalar()
        names = connection.execute(
            text(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE i.indrelid = to_regclass('chunks') AND starts_with(c.relname, :prefix)"
            ),
            {"prefix": vector_schema.INDEX_PREFIX},
        ).scalars()
        dims = frozenset(int(name.removeprefix(vector_schema.INDEX_PREFIX)) for name in names)
    kind = {"vector": "pgvector", "real[]": "real[]"}.get(column_type or "", "none")
    return Layout(kind, dims)


def _warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` comes up for this engine."""
    marker = (id(db.engine), key)
    if marker not in _warned:
        _warned.add(marker)
        log.warning(message, *args)


def nearest(
    user: User,
    query_vector: Sequence[float],
    model: str,
    dim: int,
    collection_ids: Sequence[uuid.UUID] | None,
    k: int,
) -> list[tuple[int, float]]:
    """The ``k`` live chunks ``user`` may read nearest ``query_vector``: (id, cosine), best first.

    Only vectors of ``model`` with ``dim`` dimensions are compared; ``collection_ids``
    (already validated by the caller) narrows the readable collections further.
    """
    if len(query_vector) != dim:
        raise ValueError(f"query vector has {len(query_vector)} dimensions, expected {dim}")
    if k <= 0:
        return []
    query = unit(query_vector)
    kind = layout().kind
    if kind == "pgvector":
        return _nearest_pgvector(user, query, model, dim, collection_ids, k)
    conditions = filters(user, model, dim, collection_ids)
    if kind == "sqlite":
        return _scanned(query, conditions, k)
    if kind == "real[]":
        _warn_once("exact", "pgvector is not installed: vector search is exact (slower)")
        return _ranked(_real_dot(query), [*conditions, _mirror(ARRAY(REAL)).is_not(None)], k)
    _warn_once("none", "chunks.%s is missing: run `flask init-db`", vector_schema.COLUMN)
    return []


def filters(
    user: User, model: str, dim: int, collection_ids: Sequence[uuid.UUID] | None
) -> list[ColumnElement[bool]]:
    """Access and same-model filters (liveness comes with the join).

    The readable collections are read first, in the same transaction, and named in the
    query: given their ids, PostgreSQL's statistics tell a 1% user from a 99% one (a
    subquery hides them, and alice's 1,000 chunks were found by scanning all 100,000).
    """
    chosen = None if collection_ids is None else set(collection_ids)
    readable = db.session.scalars(readable_collections(user)).all()
    allowed = [key for key in readable if chosen is None or key in chosen]
    return _named(allowed, model, dim)


def _named(allowed: Sequence[uuid.UUID], model: str, dim: int) -> list[ColumnElement[bool]]:
    """The filters of :func:`filters` for the readable collections ``allowed``."""
    return [
        Chunk.collection_id.in_(allowed),
        Chunk.embedding_model == model,
        Chunk.embedding_dim == dim,
    ]


def _counted_filters(
    user: User, model: str, dim: int, collection_ids: Sequence[uuid.UUID] | None
) -> tuple[list[ColumnElement[bool]], bool]:
    """:func:`filters` and whether the candidates reach ``EXACT_BELOW`` (pgvector).

    With chosen collections (a chat turn's) both come from one statement: the chosen ids,
    named in it, give the count's plan the statistics that :func:`filters` exists for.
    Without, the readable collections are read first and the count follows.
    """
    if collection_ids is None:
        conditions = [*filters(user, model, dim, None), _mirror(Vector()).is_not(None)]
        return conditions, _candidates(conditions, EXACT_BELOW) >= EXACT_BELOW
    chosen = list(dict.fromkeys(collection_ids))
    readable = readable_collections(user).where(Collection.id.in_(chosen))
    counted = [*_named(chosen, model, dim), _mirror(Vector()).is_not(None)]
    some = select(Chunk.id).where(*counted, Chunk.collection_id.in_(readable)).limit(EXACT_BELOW)
    allowed, count = db.session.execute(
        select(
            func.array(readable.scalar_subquery()),
            select(func.count()).select_from(some.subquery()).scalar_subquery(),
        )
    ).one()
    conditions = [*_named(allowed, model, dim), _mirror(Vector()).is_not(None)]
    return conditions, count >= EXACT_BELOW


# Only chunks of their document's current generation are searched.
LIVE = and_(Document.id == Chunk.document_id, Document.generation == Chunk.generation)


def _mirror(type_: object) -> ColumnElement[object]:
    """The trigger-maintained ``chunks.embedding_vec`` column."""
    return literal_column(f"chunks.{vector_schema.COLUMN}", type_)


def _real_dot(query: np.ndarray) -> ColumnElement[float]:
    """The dot product with ``query`` of each row's ``real[]`` mirror, as a scalar subquery
    (planned once; a SQL function here would run several times slower)."""
    pairs = (
        func.unnest(_mirror(ARRAY(REAL)), cast(query.tolist(), ARRAY(REAL)))
        .table_valued("x", "y")
        .render_derived(name="pairs")
    )
    return select(func.sum(cast(pairs.c.x, Float) * pairs.c.y)).scalar_subquery()


def _ranked(
    score: ColumnElement[float], conditions: list[ColumnElement[bool]], k: int
) -> list[tuple[int, float]]:
    """Exact search: order every candidate by ``score`` in the database, keep ``k``."""
    statement = (
        select(Chunk.id, score)
        .join(Document, LIVE)
        .where(*conditions)
        .order_by(score.desc(), Chunk.id)
        .limit(k)
    )
    return [(int(chunk_id), float(value)) for chunk_id, value in db.session.execute(statement)]


def _scanned(
    query: np.ndarray, conditions: list[ColumnElement[bool]], k: int
) -> list[tuple[int, float]]:
    """Exact search in numpy: stream the candidates' BLOBs, score a batch at a time.

    Ranks like :func:`_ranked` (score descending, then chunk id), holding at most
    ``SCAN_BATCH + k`` scores and one batch of BLOBs in memory. ``np.vecdot`` takes one dot
    product per row, so a chunk's score never depends on its place in a batch (a
    matrix-vector product may round equal rows differently) and equal vectors tie.
    """
    statement = (
        select(Chunk.id, Chunk.embedding)
        .join(Document, LIVE)
        .where(*conditions, func.length(Chunk.embedding) == query.nbytes)
    )
    best_ids = np.empty(0, dtype=np.int64)
    best_scores = np.empty(0, dtype=np.float32)
    # Core rows through the session's connection: the ORM's result machinery would cost
    # more than the numpy work here.
    result = db.session.connection().execute(statement)
    while batch := result.fetchmany(SCAN_BATCH):
        ids, blobs = zip(*batch, strict=True)
        matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)
        best_ids = np.concatenate([best_ids, np.fromiter(ids, np.int64, len(ids))])
        best_scores = np.concatenate([best_scores, np.vecdot(matrix, query)])
        keep = np.lexsort((best_ids, -best_scores))[:k]
        best_ids, best_scores = best_ids[keep], best_scores[keep]
    return [
        (int(chunk_id), float(score)) for chunk_id, score in zip(best_ids, best_scores, strict=True)
    ]


def _candidates(conditions: list[ColumnElement[bool]], limit: int) -> int:
    """How many chunks pass ``conditions``, counting no further than ``limit``.

    Liveness is left out (no join): an overcount only sends a search to the index, whose
    shortfall falls back to the exact scan.
    """
    some = select(Chunk.id).where(*conditions).limit(limit).subquery()
    return db.session.execute(select(func.count()).select_from(some)).scalar_one()


def _nearest_pgvector(
    user: User,
    query: np.ndarray,
    model: str,
    dim: int,
    collection_ids: Sequence[uuid.UUID] | None,
    k: int,
) -> list[tuple[int, float]]:
    """HNSW for users with many candidates, exact for the rest (and when HNSW falls short)."""
    if dim not in layout().indexed_dims:
        _warn_once(f"dim{dim}", "pgvector: no HNSW index for %d dimensions; exact search", dim)
        conditions = [*filters(user, model, dim, collection_ids), _mirror(Vector()).is_not(None)]
    else:
        conditions, many = _counted_filters(user, model, dim, collection_ids)
        if many:
            found = hnsw_search(query, dim, conditions, k)
            if len(found) == k:
                return found
    exact = -_mirror(Vector()).op("<#>", return_type=Float)(cast(query.tolist(), Vector()))
    return _ranked(exact, conditions, k)


def hnsw_search(
    query: np.ndarray, dim: int, conditions: list[ColumnElement[bool]], k: int
) -> list[tuple[int, float]]:
    """Search the HNSW index, with iterative scans so filtered-out neighbours are replaced.

    The caller has counted enough candidates for the index to pay, but the planner cannot
    know how many chunks a user's collections hold (it guesses few, and would then sort
    them all), so sorting is disabled for this query. The settings live in a savepoint
    that is rolled back, so later queries of the transaction keep the defaults.
    """
    indexed = cast(_mirror(Vector()), Vector(dim))
    distance = indexed.op("<#>", return_type=Float)(cast(query.tolist(), Vector(dim)))
    # relaxed_order returns neighbours roughly in order: take more, keep the best k exactly.
    hits = (
        select(Chunk.id.label("id"), distance.label("distance"))
        .join(Document, LIVE)
        .where(*conditions, Chunk.embedding_dim == dim)
        .order_by(distance)
        .limit(k * OVERFETCH)
        .subquery()
    )
    # ``+ 0``: the planner takes the subquery's rows as sorted by distance and would only
    # sort ties by id (an incremental sort reading k + 1 rows): relaxed order breaks that.
    resorted = hits.c.distance + literal_column("0")
    ordered = select(hits.c.id, hits.c.distance).order_by(resorted, hits.c.id).limit(k)
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(SETTINGS, _settings(k))
        rows = db.session.execute(ordered).all()
    finally:
        savepoint.rollback()
    return [(int(chunk_id), -float(value)) for chunk_id, value in rows]


SETTINGS = text(
    "SELECT set_config('hnsw.iterative_scan', :iterative, true),"
    " set_config('hnsw.ef_search', :ef, true),"
    " set_config('hnsw.max_scan_tuples', :most, true),"
    " set_config('hnsw.scan_mem_multiplier', :memory, true),"
    " set_config('enable_sort', 'off', true),"
    # The index scan's estimated cost passes jit_above_cost at ~100k chunks, and compiling
    # the query (tens of ms, more than the search) would then happen on every search.
    " set_config('jit', 'off', true)"
)


def _settings(k: int) -> dict[str, str]:
    """Values for :data:`SETTINGS`."""
    return {
        "iterative": ITERATIVE,
        "ef": str(max(EF_SEARCH, k * OVERFETCH)),
        "most": str(MAX_SCAN_TUPLES),
        "memory": str(SCAN_MEM_MULTIPLIER),
    }
