"""Full-text indexes kept by the database, and user queries that can never fail.

One :class:`TextIndex` describes the index over one text column of a table and gives the
DDL for both databases:

- SQLite: an external-content FTS5 table (rowid = the row's id) kept in step by triggers on
  insert, delete and update of the text; more indexed columns (``extra``) may be computed
  from the row (an owner token, say), read back through ``source`` (a view) when given;
- PostgreSQL: ``to_tsvector`` in a stored generated column (no query recomputes it row by
  row) with a GIN index.

Knowledge passages (``services/knowledge/fulltext.py``) and chat messages
(``services/chat/search.py``) both use it. A user's query is read by :func:`parse`: words
(``\\w+``), ``"quoted phrases"`` and ``prefix*`` words; everything else is ignored, so nothing
a user types reaches FTS5 or ``to_tsquery`` as syntax, and no input can make a search fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import DDL, Table, event, func, literal_column

MAX_TERMS = 64
MAX_TERM_CHARS = 100
TS_CONFIG = "english"
TOKENIZE = "porter unicode61 remove_diacritics 2"
# A phrase in double quotes, or a word with an optional trailing * (a prefix).
TOKEN = re.compile(r'"([^"]*)"?|(\w+)(\*?)')


@dataclass(frozen=True)
class Term:
    """One part of a query: a word, a phrase of several words, or a word prefix."""

    words: tuple[str, ...]
    prefix: bool = False


def words_of(text: str) -> list[str]:
    """The words (``\\w+``) of ``text``, lower-cased and cut to ``MAX_TERM_CHARS``."""
    return [word[:MAX_TERM_CHARS] for word in re.findall(r"\w+", text.lower())]


def terms(query: str) -> list[str]:
    """The distinct words of ``query``, lower-cased, in order (at most ``MAX_TERMS``)."""
    return list(dict.fromkeys(words_of(query)))[:MAX_TERMS]


def parse(query: str) -> list[Term]:
    """The distinct terms of ``query``: ``"a phrase"``, ``prefix*`` and plain words.

    An unclosed quote runs to the end; a phrase of one word is a word. At most
    ``MAX_TERMS`` terms.
    """
    found: dict[Term, None] = {}
    for match in TOKEN.finditer(query):
        phrase, word, star = match.groups()
        if word is not None:
            found[Term(tuple(words_of(word)), prefix=bool(star))] = None
        elif words := words_of(phrase):
            found[Term(tuple(words))] = None
    return [term for term in found if term.words][:MAX_TERMS]


def fts5_match(items: list[Term], operator: str = "AND") -> str:
    """An FTS5 query of ``items`` joined by ``operator``: each a quoted string (``\\w`` never
    holds a quote), a prefix a quoted string followed by ``*``."""
    quoted = ['"' + " ".join(item.words) + '"' + ("*" if item.prefix else "") for item in items]
    return f" {operator} ".join(quoted)


def pg_tsquery(items: list[Term], operator: str = "&&") -> Any:
    """A ``tsquery`` expression of ``items`` joined by ``operator`` (``&&`` or ``||``).

    Words go through ``plainto_tsquery``, phrases through ``phraseto_tsquery`` and prefixes
    through ``to_tsquery('word:*')`` (a word of ``\\w`` characters holds no tsquery syntax).
    """
    config = literal_column(f"'{TS_CONFIG}'")

    def one(item: Term) -> Any:
        if item.prefix:
            return func.to_tsquery(config, f"{item.words[0]}:*")
        if len(item.words) > 1:
            return func.phraseto_tsquery(config, " ".join(item.words))
        return func.plainto_tsquery(config, item.words[0])

    return reduce(lambda left, right: left.op(operator)(right), map(one, items))


@dataclass(frozen=True)
class TextIndex:
    """The full-text index over ``table.column``, in both databases.

    ``extra`` names more FTS5 columns and the SQL giving each from a row (``{row}`` is
    ``new`` or ``old``); ``source`` is what FTS5 reads its columns back from (default:
    ``table``, which must then hold them all).
    """

    table: str
    column: str
    fts_table: str
    pg_column: str
    pg_index: str
    extra: tuple[tuple[str, str], ...] = ()
    source: str | None = None

    def _columns(self) -> str:
        """The FTS5 table's columns, in order."""
        return ", ".join([self.column, *(name for name, _ in self.extra)])

    def _values(self, row: str) -> str:
        """The values of one row for the FTS5 columns."""
        return ", ".join([f"{row}.{self.column}", *(sql.format(row=row) for _, sql in self.extra)])

    def _write(self, row: str) -> str:
        """The statement adding (``new``) or removing (``old``) one row in the FTS5 table."""
        fts = self.fts_table
        if row == "new":
            return (
                f"INSERT INTO {fts}(rowid, {self._columns()}) VALUES (new.id, {self._values(row)})"
            )
        return (
            f"INSERT INTO {fts}({fts}, rowid, {self._columns()}) "
            f"VALUES ('delete', old.id, {self._values(row)})"
        )

    @property
    def sqlite_ddl(self) -> tuple[str, ...]:
        """The FTS5 table and its triggers."""
        fts, table = self.fts_table, self.table
        return (
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({self._columns()}, "
            f"content='{self.source or table}', content_rowid='id', tokenize='{TOKENIZE}')",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"{self._write('new')}; END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"{self._write('old')}; END",
            f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {self.column} ON {table} "
            f"BEGIN {self._write('old')}; {self._write('new')}; END",
        )

    @property
    def sqlite_drop(self) -> tuple[str, ...]:
        """Undo :attr:`sqlite_ddl`."""
        triggers = (
            f"DROP TRIGGER IF EXISTS {self.fts_table}_{k}" for k in ("update", "delete", "insert")
        )
        return (*triggers, f"DROP TABLE IF EXISTS {self.fts_table}")

    @property
    def sqlite_rebuild(self) -> str:
        """Index every row already stored (after :attr:`sqlite_ddl` on a filled table)."""
        return f"INSERT INTO {self.fts_table}({self.fts_table}) VALUES ('rebuild')"

    @property
    def postgres_ddl(self) -> tuple[str, ...]:
        """The generated ``tsvector`` column (filled for every row as it is added) and GIN."""
        return (
            f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {self.pg_column} tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('{TS_CONFIG}', {self.column})) STORED",
            f"CREATE INDEX IF NOT EXISTS {self.pg_index} "
            f"ON {self.table} USING gin ({self.pg_column})",
        )

    @property
    def postgres_drop(self) -> tuple[str, ...]:
        """Undo :attr:`postgres_ddl`."""
        return (
            f"DROP INDEX IF EXISTS {self.pg_index}",
            f"ALTER TABLE {self.table} DROP COLUMN IF EXISTS {self.pg_column}",
        )

    def vector(self) -> Any:
        """The PostgreSQL ``tsvector`` column, for queries."""
        return literal_column(f"{self.table}.{self.pg_column}")

    def listen(
        self, table: Table, sqlite_ddl: tuple[str, ...] = (), sqlite_drop: tuple[str, ...] = ()
    ) -> None:
        """Create the index whenever ``create_all`` creates ``table`` (and drop the FTS5
        objects before it); ``sqlite_ddl`` and ``sqlite_drop`` replace this index's own
        statements when given (to add a ``source`` view, say)."""
        for statement in sqlite_ddl or self.sqlite_ddl:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
        for statement in self.postgres_ddl:
            event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
        for statement in sqlite_drop or self.sqlite_drop:
            event.listen(table, "before_drop", DDL(statement).execute_if(dialect="sqlite"))

    def is_own(self, name: str | None, type_: str) -> bool:
        """Whether ``name`` is one of this index's objects rather than a model's."""
        if type_ == "column":
            return name == self.pg_column
        return (name or "").startswith(self.fts_table) or name == self.pg_index


INDEXES: list[TextIndex] = []


def register(index: TextIndex) -> TextIndex:
    """Remember ``index`` so that migrations leave its objects alone (:func:`include_name`)."""
    INDEXES.append(index)
    return index


def include_name(name: str | None, type_: str, _parents: dict[str, Any]) -> bool:
    """Alembic filter: FTS5 tables (and their shadow tables), ``tsvector`` columns and their
    GIN indexes are not models."""
    return not any(index.is_own(name, type_) for index in INDEXES)
