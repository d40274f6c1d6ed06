"""The full-text half of retrieval: SQLite FTS5 and PostgreSQL ``tsvector``, in the database.

SQLite keeps an external-content FTS5 table (``chunks_fts``, rowid = chunk id) in step with
``chunks`` through triggers; PostgreSQL keeps ``to_tsvector('english', text)`` in a stored
generated column (``text_tsv``, so no query recomputes it row by row) with a GIN index.
Both are created by the migration and, for ``db.create_all()``, by the DDL listeners below.

A query is split into words by this module and each word is passed as a quoted term (FTS5)
or through ``plainto_tsquery`` (PostgreSQL), joined with OR: nothing a user types is read
as query syntax, so no input can make a search fail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from functools import reduce
from typing import Any

from sqlalchemy import DDL, column, event, func, literal_column, select, table

from chatapp.extensions import db
from chatapp.models import Chunk, Document, User
from chatapp.services.knowledge.access import searchable_chunks

MAX_TERMS = 64
MAX_TERM_CHARS = 100
TS_CONFIG = "english"
# Names the schema holds beyond the models; migrations' autogenerate leaves them alone.
FTS_TABLE = "chunks_fts"
PG_INDEX = "ix_chunks_text_fts"
PG_COLUMN = "text_tsv"

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, content='chunks', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS chunks_fts_update",
    "DROP TRIGGER IF EXISTS chunks_fts_delete",
    "DROP TRIGGER IF EXISTS chunks_fts_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)
POSTGRES_DDL = (
    f"ALTER TABLE chunks ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', text)) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON chunks USING gin ({PG_COLUMN})",
)
POSTGRES_DROP = (
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE chunks DROP COLUMN IF EXISTS {PG_COLUMN}",
)


def _listen() -> None:
    """Create the full-text objects whenever ``create_all`` creates ``chunks``."""
    chunks = Chunk.__table__
    for statement in SQLITE_DDL:
        event.listen(chunks, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRES_DDL:
        event.listen(chunks, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    for statement in SQLITE_DROP:
        event.listen(chunks, "before_drop", DDL(statement).execute_if(dialect="sqlite"))


_listen()


def include_name(name: str | None, type_: str, _parents: dict[str, Any]) -> bool:
    """Alembic filter: the FTS table (and its shadow tables), the tsvector column and its GIN
    index are not models."""
    if type_ == "column" and name == PG_COLUMN:
        return False
    return not (name or "").startswith(FTS_TABLE) and name != PG_INDEX


def terms(query: str) -> list[str]:
    """The distinct words of ``query``, lower-cased, in order (at most ``MAX_TERMS``)."""
    words = re.findall(r"\w+", query.lower())
    unique = dict.fromkeys(word[:MAX_TERM_CHARS] for word in words)
    return list(unique)[:MAX_TERMS]


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
    match = " OR ".join(f'"{word}"' for word in words)
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
    config = literal_column(f"'{TS_CONFIG}'")
    queries = [func.plainto_tsquery(config, word) for word in words]
    query = reduce(lambda left, right: left.op("||")(right), queries)
    vector = literal_column(f"chunks.{PG_COLUMN}")
    rank = func.ts_rank(vector, query)
    return (
        select(Chunk.id, rank)
        .join(Document, Document.id == Chunk.document_id)
        .where(vector.op("@@")(query), *where)
        .order_by(rank.desc(), Chunk.id)
        .limit(k)
    )
