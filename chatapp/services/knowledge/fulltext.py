"""The full-text half of retrieval: SQLite FTS5 and PostgreSQL ``tsvector``, in the database.

SQLite keeps an external-content FTS5 table (``chunks_fts``, rowid = chunk id) in step with
``chunks`` through triggers; PostgreSQL keeps ``to_tsvector('english', text)`` in a stored
generated column (``text_tsv``, so no query recomputes it row by row) with a GIN index.
Both are created by the migration and, for ``db.create_all()``, by DDL listeners
(``services/fulltext.py`` holds what this shares with the search over chat messages).

A query is split into words and each word is passed as a quoted term (FTS5) or through
``plainto_tsquery`` (PostgreSQL), joined with OR: nothing a user types is read as query
syntax, so no input can make a search fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, func, literal_column, select, table

from chatapp.extensions import db
from chatapp.models import Chunk, Document, User
from chatapp.services import fulltext
from chatapp.services.fulltext import Term, terms
from chatapp.services.knowledge.access import searchable_chunks

INDEX = fulltext.register(
    fulltext.TextIndex(
        table="chunks",
        column="text",
        fts_table="chunks_fts",
        pg_column="text_tsv",
        pg_index="ix_chunks_text_fts",
    )
)
INDEX.listen(Chunk.__table__)
# Names and DDL the migrations use (e5a1c0000012).
FTS_TABLE = INDEX.fts_table
SQLITE_DDL = INDEX.sqlite_ddl
SQLITE_DROP = INDEX.sqlite_drop
POSTGRES_DDL = INDEX.postgres_ddl
POSTGRES_DROP = INDEX.postgres_drop
include_name = fulltext.include_name


def search(
    user: User, query: str, collection_ids: Sequence[uuid.UUID] | None, k: int
) -> list[tuple[int, float]]:
    """The ``k`` best chunks for ``query`` as ``(chunk id, score)``, best first.

    Only live chunks of collections ``user`` may read (and of ``collection_ids`` when
    given) are considered, inside the query. The score is bm25 (SQLite, negated so that
    higher is better) or ``ts_rank`` (PostgreSQL).
    """
    words = terms(query)
    if not words or k <= 0:
        return []
    where = searchable_chunks(user, collection_ids)
    if db.engine.dialect.name == "sqlite":
        statement = _sqlite(words, where, k)
    else:
        statement = _postgres(words, where, k)
    return [(int(chunk_id), float(score)) for chunk_id, score in db.session.execute(statement)]


def _sqlite(words: list[str], where: list[Any], k: int) -> Any:
    """FTS5: every word a quoted string (``\\w`` never holds a quote), OR-ed, ranked by bm25."""
    fts = table(FTS_TABLE, column("rowid"))
    match = fulltext.fts5_match([Term((word,)) for word in words], "OR")
    rank = func.bm25(literal_column(FTS_TABLE))
    return (
        select(Chunk.id, -rank)
        .select_from(fts)
        .join(Chunk, Chunk.id == fts.c.rowid)
        .join(Document, Document.id == Chunk.document_id)
        .where(literal_column(FTS_TABLE).op("MATCH")(match), *where)
        .order_by(rank, Chunk.id)
        .limit(k)
    )


def _postgres(words: list[str], where: list[Any], k: int) -> Any:
    """tsvector: each word through ``plainto_tsquery``, OR-ed, ranked by ``ts_rank``."""
    query = fulltext.pg_tsquery([Term((word,)) for word in words], "||")
    vector = INDEX.vector()
    rank = func.ts_rank(vector, query)
    return (
        select(Chunk.id, rank)
        .join(Document, Document.id == Chunk.document_id)
        .where(vector.op("@@")(query), *where)
        .order_by(rank.desc(), Chunk.id)
        .limit(k)
    )
