"""Full-text search over a user's own messages (``GET /api/v1/chat/search``).

The index is kept by the database (``services/fulltext.py``):

- SQLite: the FTS5 table ``chat_history_fts`` holds each message's ``content`` and an
  ``owner`` token (``u<user id>``, from its conversation), so a search reads only the
  owner's postings, not every user's: ``owner : "u7" AND content : (...)``. Triggers keep it
  in step with inserts, edits and deletes of messages; a conversation's messages are
  deleted (by a trigger) just before the conversation, while the owner can still be read.
  FTS5 reads columns back (for ``snippet``) through the view ``chat_history_fts_source``.
- PostgreSQL: the stored generated column ``chat_history.content_tsv`` under a GIN index.

Searchable are the user's ``complete`` and ``interrupted`` messages (what the conversation
shows as said); ``failed`` ones (a message whose turn failed) are not. All terms must match
(words, ``"phrases"``, ``prefix*``); hits are ranked by bm25 (SQLite) or ``ts_rank``
(PostgreSQL), best first. A snippet marks the matched words with ``<mark>``; everything
else in it is escaped text.
"""

from __future__ import annotations

import html
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, column, func, literal_column, select, table

from chatapp.extensions import db
from chatapp.models import COMPLETE, INTERRUPTED, ChatMessage, ChatSession, User
from chatapp.services import fulltext
from chatapp.services.fulltext import Term

SEARCHABLE = (COMPLETE, INTERRUPTED)
SNIPPET_TOKENS = 24  # words of context in an FTS5 snippet
HEADLINE = 'MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'

INDEX = fulltext.register(
    fulltext.TextIndex(
        table="chat_history",
        column="content",
        fts_table="chat_history_fts",
        pg_column="content_tsv",
        pg_index="ix_chat_history_content_fts",
        extra=(
            ("owner", "(SELECT 'u' || user_id FROM chat_sessions WHERE id = {row}.session_id)"),
        ),
        source="chat_history_fts_source",
    )
)
FTS_TABLE = INDEX.fts_table
SOURCE_VIEW = (
    f"CREATE VIEW IF NOT EXISTS {INDEX.source} AS SELECT m.id AS id, m.content AS content, "
    "'u' || s.user_id AS owner "
    "FROM chat_history AS m JOIN chat_sessions AS s ON s.id = m.session_id"
)
# A conversation's messages leave the index before it goes (an ON DELETE CASCADE would
# delete them after, when their owner can no longer be read).
SESSION_TRIGGER = (
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_session_delete BEFORE DELETE ON chat_sessions "
    "BEGIN DELETE FROM chat_history WHERE session_id = old.id; END"
)
SQLITE_DDL = (SOURCE_VIEW, *INDEX.sqlite_ddl, SESSION_TRIGGER)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_session_delete",
    *INDEX.sqlite_drop,
    f"DROP VIEW IF EXISTS {INDEX.source}",
)
INDEX.listen(ChatMessage.__table__, SQLITE_DDL, SQLITE_DROP)


@dataclass(frozen=True)
class Hit:
    """One message found: where it is, who wrote it when, its score and snippet."""

    session_id: uuid.UUID
    message_id: int
    role: str
    created_at: datetime
    title: str | None
    score: float
    snippet: str


@dataclass(frozen=True)
class Marks:
    """Markers a snippet is returned with, random per search so no message holds them."""

    open: str
    close: str

    @classmethod
    def new(cls) -> Marks:
        """A fresh pair of markers (letters and digits only, so no syntax anywhere)."""
        nonce = secrets.token_hex(8)
        return cls(f"mk{nonce}o", f"mk{nonce}c")

    def html(self, raw: str, escaped: bool = False) -> str:
        """``raw`` as HTML: marked words in ``<mark>`` (always balanced), the rest escaped
        (``escaped``: ``raw``'s text is HTML-escaped already; it is unescaped first)."""
        out, inside = [], False
        for part in re.split(f"({self.open}|{self.close})", raw):
            if part in (self.open, self.close):
                opening = part == self.open
                if opening != inside:
                    out.append("<mark>" if opening else "</mark>")
                    inside = opening
            else:
                text = html.unescape(part) if escaped else part
                out.append(html.escape(text, quote=False))
        return "".join(out) + ("</mark>" if inside else "")


def search(user: User, query: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    """One page of ``user``'s messages matching ``query``, best first; and how many match.

    A query without a single word (only punctuation, say) matches nothing.
    """
    items = fulltext.parse(query)
    if not items:
        return [], 0
    sqlite = db.engine.dialect.name == "sqlite"
    matches = (
        _sqlite_matches(user, items) if sqlite else _postgres_matches(user, items)
    ).subquery()
    ranked = select(matches.c.id, matches.c.score, func.count().over().label("total"))
    marks = Marks.new()
    headline_of = None if sqlite else items
    rows = db.session.execute(_page(ranked, limit, offset, headline_of, marks)).all()
    if not rows:
        return [], _count(ranked) if offset else 0
    if sqlite:
        snippets = _sqlite_snippets(items, [row.id for row in rows], marks)
    else:
        snippets = {row.id: row.headline for row in rows}
    hits = [
        Hit(
            row.session_id,
            row.id,
            row.role,
            row.created_at,
            row.title,
            float(row.score),
            marks.html(snippets.get(row.id, ""), escaped=not sqlite),
        )
        for row in rows
    ]
    return hits, int(rows[0].total)


def _page(
    ranked: Any, limit: int, offset: int, headline_of: list[Term] | None, marks: Marks
) -> Any:
    """One page of ``ranked`` (best first) with what a hit shows of each message and its
    conversation; with PostgreSQL's snippet (of ``headline_of``'s terms) in the same query."""
    top = (
        ranked.order_by(ranked.selected_columns.score.desc(), ranked.selected_columns.id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    columns = [
        top.c.id,
        top.c.score,
        top.c.total,
        ChatMessage.session_id,
        ChatMessage.role,
        ChatMessage.created_at,
        ChatSession.title,
    ]
    if headline_of is not None:
        columns.append(_postgres_headline(headline_of, marks).label("headline"))
    return (
        select(*columns)
        .join(ChatMessage, ChatMessage.id == top.c.id)
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .order_by(top.c.score.desc(), top.c.id)
    )


def _count(ranked: Any) -> int:
    """How many rows the search ``ranked`` finds in all (for a page past its end)."""
    return db.session.scalar(select(func.count()).select_from(ranked.subquery())) or 0


def _sqlite_terms(items: list[Term]) -> str:
    """The FTS5 query of every term, in ``content``."""
    return f"content : ({fulltext.fts5_match(items)})"


def _sqlite_match(user: User, items: list[Term]) -> str:
    """The FTS5 query finding the user's messages: their owner token AND every term."""
    return f'owner : "u{int(user.id)}" AND {_sqlite_terms(items)}'


def _sqlite_matches(user: User, items: list[Term]) -> Any:
    """``(id, score)`` of the user's matching messages; the score is bm25, negated so that
    higher is better.

    bm25 weighs each phrase of its query by how many rows hold it, found by reading the
    phrase's whole posting list: so the ranked query holds the terms only, and the user's
    rows (found with the owner token, without ranking) are a set it checks each match
    against (``+rowid``: a membership test, not one index lookup per row).
    """
    fts = table(FTS_TABLE, column("rowid"))
    owned = table(FTS_TABLE, column("rowid")).alias("owned")
    mine = select(owned.c.rowid).where(
        literal_column(f"owned.{FTS_TABLE}").op("MATCH")(_sqlite_match(user, items))
    )
    rank = func.bm25(literal_column(FTS_TABLE), 1.0, 0.0)
    return (
        select(ChatMessage.id, (-rank).label("score"))
        .select_from(fts)
        .join(ChatMessage, ChatMessage.id == fts.c.rowid)
        .join(ChatSession, ChatSession.id == ChatMessage.session_id)
        .where(
            literal_column(FTS_TABLE).op("MATCH")(_sqlite_terms(items)),
            literal_column(f"+{FTS_TABLE}.rowid").in_(mine),
            ChatSession.user_id == user.id,
            ChatMessage.status.in_(SEARCHABLE),
        )
    )


def _sqlite_snippets(items: list[Term], ids: list[int], marks: Marks) -> dict[int, str]:
    """FTS5 snippets of messages ``ids`` (found already: the owner needs no check here),
    matched words between ``marks``."""
    fts = table(FTS_TABLE, column("rowid"))
    snippet = func.snippet(
        literal_column(FTS_TABLE), 0, marks.open, marks.close, "…", SNIPPET_TOKENS
    )
    rows = db.session.execute(
        select(fts.c.rowid, snippet).where(
            literal_column(FTS_TABLE).op("MATCH")(_sqlite_terms(items)),
            fts.c.rowid.in_(ids),
        )
    )
    return {int(key): text for key, text in rows}


def _postgres_matches(user: User, items: list[Term]) -> Any:
    """``(id, score)`` of the user's matching messages; the score is ``ts_rank``.

    ``session_id = ANY(ARRAY(<the user's conversations>))`` lets PostgreSQL AND the GIN
    index's matches with the user's messages (``session_id`` index) before reading any
    row: a common word then costs the user's share of its rows, not every user's.
    """
    owned = literal_column(
        f"ARRAY(SELECT id FROM chat_sessions WHERE user_id = {int(user.id)})", ARRAY(Uuid)
    )
    query = fulltext.pg_tsquery(items)
    vector = INDEX.vector()
    rank = func.ts_rank(vector, query)
    return select(ChatMessage.id, rank.label("score")).where(
        vector.op("@@")(query),
        ChatMessage.session_id == any_(owned),
        ChatMessage.status.in_(SEARCHABLE),
    )


def _postgres_headline(items: list[Term], marks: Marks) -> Any:
    """The ``ts_headline`` snippet of a message, matched words between ``marks``.

    The text is HTML-escaped first: ``ts_headline`` drops what its parser takes for tags,
    but keeps entities (``&lt;``) as they are.
    """
    options = f"StartSel={marks.open}, StopSel={marks.close}, {HEADLINE}"
    config = literal_column(f"'{fulltext.TS_CONFIG}'")
    escaped = ChatMessage.content
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        escaped = func.replace(escaped, char, entity)
    return func.ts_headline(config, escaped, fulltext.pg_tsquery(items), options)
