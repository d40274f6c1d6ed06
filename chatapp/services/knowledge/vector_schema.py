"""The database objects vector search needs beyond the models, for migrations and create_all.

On PostgreSQL every chunk's BLOB embedding is mirrored into ``chunks.embedding_vec`` by a
trigger, so whoever writes chunks (the ORM, bulk inserts, SQL) keeps the two in step:

- with the pgvector extension, the column is ``vector`` (any dimension) and a partial HNSW
  index covers the configured dimension: ``ix_chunks_embedding_hnsw_<dim>`` on
  ``embedding_vec::vector(<dim>)`` where ``embedding_dim = <dim>``;
- without it, the column is ``real[]`` and search is exact (see :mod:`.vectors`).

SQLite needs nothing here: its exact search reads the BLOBs into numpy (see :mod:`.vectors`).
The objects are not models, so autogenerate ignores them (:func:`include_object`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from flask import current_app, has_app_context
from sqlalchemy import Connection, Table, event, text
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import UserDefinedType

from chatapp.models import Chunk

log = logging.getLogger(__name__)

COLUMN = "embedding_vec"
INDEX_PREFIX = "ix_chunks_embedding_hnsw_"
HNSW_MAX_DIM = 2000  # pgvector indexes ``vector`` up to this many dimensions
DEFAULT_DIM = 768

# float32 little-endian BLOB -> real[]: sign, exponent and mantissa of each 4 bytes
# (subnormals, far below any unit vector's precision, read as 0).
DECODE_FUNCTION = """
CREATE OR REPLACE FUNCTION chunks_embedding_floats(b bytea) RETURNS real[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT array_agg(CASE WHEN e = 0 THEN 0::real ELSE
       ((1 - 2 * s) * (1 + m::float8 / 8388608) * power(2::float8, e - 127))::real END
       ORDER BY i)
FROM (SELECT i, get_byte(b, 4 * i + 3) >> 7 AS s,
             ((get_byte(b, 4 * i + 3) & 127) << 1) | (get_byte(b, 4 * i + 2) >> 7) AS e,
             ((get_byte(b, 4 * i + 2) & 127) << 16) | (get_byte(b, 4 * i + 1) << 8)
             | get_byte(b, 4 * i) AS m
      FROM generate_series(0, length(b) / 4 - 1) AS i) AS f
$$
"""

# Bulk loads may write embedding_vec themselves on INSERT; an UPDATE of the BLOB always wins.
SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION chunks_embedding_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.embedding IS NULL THEN
    IF TG_OP = 'UPDATE' THEN NEW.embedding_vec := NULL; END IF;
  ELSIF TG_OP = 'UPDATE' OR NEW.embedding_vec IS NULL THEN
    NEW.embedding_vec := chunks_embedding_floats(NEW.embedding);
  END IF;
  RETURN NEW;
END $$
"""

SYNC_TRIGGER = """
CREATE TRIGGER chunks_embedding_sync BEFORE INSERT OR UPDATE OF embedding ON chunks
FOR EACH ROW EXECUTE FUNCTION chunks_embedding_sync()
"""


class Vector(UserDefinedType):
    """pgvector's ``vector`` type, sent as its text form ``[x,y,...]``."""

    cache_ok = True

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def get_col_spec(self, **_kw: object) -> str:
        """``vector`` or ``vector(dim)``."""
        return f"vector({self.dim})" if self.dim else "vector"

    def bind_processor(self, _dialect: object):
        """Render a sequence of floats as pgvector's text input."""
        return lambda value: None if value is None else vector_text(value)


def vector_text(values: Sequence[float]) -> str:
    """``[x,y,...]``: each value as the float32 pgvector keeps (rounded as pgvector rounds),
    in the 9 significant digits that give that float32 back exactly (two thirds of the
    characters of a double's ``repr``, half the time to format)."""
    return (
        "[" + ",".join([f"{value:.9g}" for value in np.asarray(values, np.float32).tolist()]) + "]"
    )


# Reflection (autogenerate, inspection) then knows the column's type.
ischema_names.setdefault("vector", Vector)


def pgvector_visible(connection: Connection) -> bool:
    """Whether the ``vector`` type resolves on this connection (extension in the path)."""
    return connection.execute(text("SELECT to_regtype('vector') IS NOT NULL")).scalar_one()


def try_create_extension(connection: Connection) -> bool:
    """``CREATE EXTENSION IF NOT EXISTS vector`` when the user may; say whether it is usable."""
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as exc:
        log.warning("pgvector: cannot create the vector extension (%s)", exc.orig)
    return pgvector_visible(connection)


def index_name(dim: int) -> str:
    """The name of the HNSW index of vectors of ``dim`` dimensions."""
    return f"{INDEX_PREFIX}{dim}"


def create_hnsw_index(
    connection: Connection, dim: int, m: int = 16, ef_construction: int = 64
) -> None:
    """Index vectors of ``dim`` dimensions with HNSW (inner product: vectors are unit length).

    ``m`` and ``ef_construction`` are pgvector's defaults; smaller ones build faster and
    find less.
    """
    if not 0 < dim <= HNSW_MAX_DIM:
        log.warning("pgvector: %d dimensions cannot be indexed; search stays exact", dim)
        return
    connection.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {index_name(dim)} ON chunks USING hnsw "
            f"(({COLUMN}::vector({int(dim)})) vector_ip_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
            f"WHERE embedding_dim = {int(dim)}"
        )
    )


def install(connection: Connection, dim: int) -> None:
    """Add the mirrored vector column, its trigger and (with pgvector) the HNSW index."""
    if connection.dialect.name != "postgresql":
        return
    pgvector = try_create_extension(connection)
    column_type = "vector" if pgvector else "real[]"
    connection.execute(text(f"ALTER TABLE chunks ADD COLUMN IF NOT EXISTS {COLUMN} {column_type}"))
    connection.execute(text(DECODE_FUNCTION))
    connection.execute(text(SYNC_FUNCTION))
    connection.execute(text("DROP TRIGGER IF EXISTS chunks_embedding_sync ON chunks"))
    connection.execute(text(SYNC_TRIGGER))
    if pgvector:
        create_hnsw_index(connection, dim)
    else:
        log.warning("pgvector is not available: vector search on PostgreSQL will be exact")


def uninstall(connection: Connection) -> None:
    """Remove what :func:`install` added (the extension stays: others may use it)."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("DROP TRIGGER IF EXISTS chunks_embedding_sync ON chunks"))
    connection.execute(text(f"ALTER TABLE chunks DROP COLUMN IF EXISTS {COLUMN}"))
    connection.execute(text("DROP FUNCTION IF EXISTS chunks_embedding_sync()"))
    connection.execute(text("DROP FUNCTION IF EXISTS chunks_embedding_floats(bytea)"))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, _other: Any) -> bool:
    """Alembic filter: the vector column and its indexes live outside the models."""
    if type_ == "column" and name == COLUMN and reflected:
        return False
    return not (type_ == "index" and reflected and (name or "").startswith(INDEX_PREFIX))


def _after_create(table: Table, connection: Connection, **_kw: Any) -> None:
    """create_all: install the vector objects for the app's embedding dimension."""
    dim = current_app.config["GEMINI_EMBEDDING_DIM"] if has_app_context() else DEFAULT_DIM
    install(connection, dim)


event.listen(Chunk.__table__, "after_create", _after_create)
