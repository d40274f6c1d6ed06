"""Paths through a conversation's tree of messages.

Every message has a parent (``parent_id``; NULL for a first message): regenerating a reply
or editing a message adds a sibling, so a conversation is a tree. One path through it is
active: the conversation's ``active_message_id`` and its ancestors, then below it the
newest child at each step (NULL: from the first message). A new message goes below the
path's last message, so it is the newest child there and the path grows without the
conversation row being written. Positions follow creation order, so a path in position
order is a path in conversation order.

A path is read with one recursive query (``WITH RECURSIVE``, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    CTE,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Connection,
    Integer,
    Select,
    bindparam,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.orm import Session, scoped_session

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession

MESSAGES = ChatMessage.__table__


# The statements are built once, with these parameters (building them per call would
# cost more than running them: see docs/branches.md).
SESSION = bindparam("path_session", type_=MESSAGES.c.session_id.type)
THROUGH = bindparam("path_through", type_=Integer())


def _start(session_id: BindParameter[uuid.UUID]) -> ColumnElement[int]:
    """SQL for the message the conversation's active path runs through."""
    first = (
        select(MESSAGES.c.id)
        .where(MESSAGES.c.session_id == session_id)
        .order_by(MESSAGES.c.position)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(func.coalesce(ChatSession.active_message_id, first))
        .where(ChatSession.id == session_id)
        .scalar_subquery()
    )


def _ancestors(message_id: ColumnElement[int]) -> CTE:
    """A recursive query of a message and its ancestors (``id``; the last row is NULL).

    Each step is a scalar subquery (one primary-key lookup) rather than a join: with a
    join, PostgreSQL may plan a hash join that scans the table at every step.
    """
    cte = select(message_id.label("id")).cte("up", recursive=True)
    parent = select(MESSAGES.c.parent_id).where(MESSAGES.c.id == cte.c.id).scalar_subquery()
    return cte.union_all(select(parent).where(cte.c.id.is_not(None)))


def _newest_descendants(message_id: ColumnElement[int]) -> CTE:
    """A recursive query of a message and, below it, the newest child at each step (``id``;
    the last row is NULL). Each step is one lookup in the index of ``parent_id``."""
    cte = select(message_id.label("id")).cte("down", recursive=True)
    newest = (
        select(MESSAGES.c.id)
        .where(MESSAGES.c.parent_id == cte.c.id)
        .order_by(MESSAGES.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return cte.union_all(select(newest).where(cte.c.id.is_not(None)))


_START = _start(SESSION)
# The ids of a conversation's active path (parameter ``path_session``), and of the path
# ending at a message (``path_through``).
ACTIVE_IDS = union(select(_ancestors(_START).c.id), select(_newest_descendants(_START).c.id))
THROUGH_IDS = select(_ancestors(THROUGH).c.id)


def path_ids(through: int | None = None) -> Select[tuple[int]] | CompoundSelect[tuple[int]]:
    """The ids of a conversation's active path, or of the path ending at message
    ``through`` when given; run with :func:`params`."""
    return ACTIVE_IDS if through is None else THROUGH_IDS


def params(session_id: uuid.UUID, through: int | None = None) -> dict[str, object]:
    """The parameters of :func:`path_ids`."""
    return {SESSION.key: session_id} if through is None else {THROUGH.key: through}


def active_path(
    messages: Iterable[ChatMessage], active_message_id: int | None
) -> list[ChatMessage]:
    """The active path among a conversation's loaded messages (as :func:`path_ids` reads
    it in SQL), in order."""
    ordered = sorted(messages, key=lambda message: message.position)
    index = {message.id: number for number, message in enumerate(ordered)}
    parents = [index.get(m.parent_id) if m.parent_id is not None else None for m in ordered]
    return [ordered[number] for number in walk(parents, index.get(active_message_id))]


def walk(parents: Sequence[int | None], active: int | None) -> list[int]:
    """The active path of a tree given as each node's parent (an earlier node's index, or
    None), nodes in creation order: the ``active`` node's ancestors, it, then the newest
    child at each step (from the first node when ``active`` is None). Indexes, in order."""
    if not parents:
        return []
    newest_child: dict[int | None, int] = {}
    for node, parent in enumerate(parents):
        newest_child[parent] = node
    path: list[int] = []
    node: int | None = 0 if active is None else active
    while node is not None:
        path.append(node)
        node = parents[node]
    path.reverse()
    node = newest_child.get(path[-1])
    while node is not None:
        path.append(node)
        node = newest_child.get(node)
    return path


@dataclass(frozen=True)
class Siblings:
    """Where a message stands among its parent's children (0-based, creation order), and
    their ids in that order (empty: the message alone)."""

    index: int = 0
    count: int = 1
    ids: tuple[int, ...] = ()


def siblings(session_id: uuid.UUID, messages: Sequence[ChatMessage]) -> dict[int, Siblings]:
    """Each message's place among its siblings, read in one query for all of them."""
    if not messages:
        return {}
    parents = {message.parent_id for message in messages}
    where = [MESSAGES.c.parent_id.in_({key for key in parents if key is not None})]
    if None in parents:
        where.append(MESSAGES.c.parent_id.is_(None))
    rows = db.session.execute(
        select(MESSAGES.c.parent_id, MESSAGES.c.id)
        .where(MESSAGES.c.session_id == session_id, or_(*where))
        .order_by(MESSAGES.c.id)
    )
    return sibling_places(rows, messages)


def sibling_places(
    rows: Iterable[tuple[int | None, int]], messages: Sequence[ChatMessage]
) -> dict[int, Siblings]:
    """Each message's place among siblings, from ``(parent_id, id)`` rows in id order."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for parent_id, message_id in rows:
        children[parent_id].append(message_id)
    places = {}
    for message in messages:
        family = children.get(message.parent_id) or [message.id]
        places[message.id] = Siblings(family.index(message.id), len(family), tuple(family))
    return places


def link_in_order(
    executor: Session | scoped_session[Session] | Connection, session_ids: Iterable[uuid.UUID]
) -> None:
    """Make each message without a parent in these conversations the child of the message
    before it (by position): for messages written in order straight into the table (demo
    data, tests, benchmarks), as migration e5a1c0000030 did for the conversations before
    branches. The caller commits."""
    earlier = MESSAGES.alias("earlier")
    previous = (
        select(earlier.c.id)
        .where(
            earlier.c.session_id == MESSAGES.c.session_id,
            earlier.c.position < MESSAGES.c.position,
        )
        .order_by(earlier.c.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    executor.execute(
        update(MESSAGES)
        .where(MESSAGES.c.session_id.in_(list(session_ids)), MESSAGES.c.parent_id.is_(None))
        .values(parent_id=previous)
    )
