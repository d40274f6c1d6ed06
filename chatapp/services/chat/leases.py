"""The turn lock: one turn at a time per conversation, held under a lease.

A turn takes its conversation's lock with one conditional ``UPDATE`` (``turn_id``), which
works across every worker and host. The lock carries a lease (``turn_lease_until``): the
process running the turn renews it every third of ``CHAT_TURN_LEASE`` seconds while the turn
runs (the per-process watcher in ``stops.py``, one ``UPDATE`` for all of its turns). A holder
that can no longer renew it, because its process was killed or cannot reach the database,
loses the lock within ``CHAT_TURN_LEASE`` seconds: the next turn, or the next read of the
conversation, reclaims it and marks the orphaned user message ``failed`` with
``TURN_ABANDONED`` (left out of later history like any failed message).

``CHAT_TURN_TIMEOUT`` stays an upper bound: a turn older than that is reclaimed even while its
process still renews the lease (a request thread stuck for good).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Connection, Row, or_, select, update

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, utcnow

log = logging.getLogger(__name__)
TURN_ABANDONED = "TURN_ABANDONED"


def lease_seconds() -> float:
    """How long a turn's lock outlives its holder's last renewal."""
    return float(current_app.config["CHAT_TURN_LEASE"])


def _timeout() -> timedelta:
    """The longest a turn may hold its conversation, renewed or not."""
    return timedelta(seconds=current_app.config["CHAT_TURN_TIMEOUT"])


def lapsed(session: ChatSession) -> bool:
    """Whether the conversation's lock is held by a turn whose holder is presumed dead."""
    if session.turn_id is None:
        return False
    now = utcnow()
    lease, started = session.turn_lease_until, session.turn_started_at
    return (lease is not None and lease < now) or (
        started is not None and started < now - _timeout()
    )


def _lapsed_clause(now: datetime) -> ColumnElement[bool]:
    """SQL for :func:`lapsed` (a lock without a lease only lapses by the timeout)."""
    return or_(ChatSession.turn_lease_until < now, ChatSession.turn_started_at < now - _timeout())


def acquire(session: ChatSession, **values: Any) -> str | None:
    """Take the conversation's lock, reclaiming a dead holder's; return the turn id, or
    None while a live turn holds it or the conversation is archived (caller commits).

    ``session`` was just read: only a lock seen held there can need reclaiming (one
    statement fewer per turn otherwise). ``values`` are set in the same statement, and
    ``session`` is refreshed from the row it returns (no second read under the lock).
    """
    session_id = session.id
    if session.turn_id is not None:
        reclaim(session_id)
    turn_id = uuid.uuid4().hex
    now = utcnow()
    locked = db.session.execute(
        update(ChatSession)
        .where(
            ChatSession.id == session_id,
            ChatSession.turn_id.is_(None),
            ChatSession.archived.is_(False),
        )
        .values(
            turn_id=turn_id,
            turn_started_at=now,
            turn_lease_until=now + timedelta(seconds=lease_seconds()),
            stop_requested=False,
            **values,
        )
        .returning(ChatSession),
        execution_options={"populate_existing": True},
    ).first()
    return turn_id if locked is not None else None


def reclaim(session_id: uuid.UUID) -> bool:
    """Free a lock whose lease lapsed and mark its user message abandoned (caller commits).

    The holder commits its reply and releases the lock in one transaction, so while the
    lock is held the conversation's last position is the holder's unanswered user message
    (or, for a regeneration, a reserved empty position: nothing is marked).
    """
    result = db.session.execute(
        update(ChatSession)
        .where(
            ChatSession.id == session_id,
            ChatSession.turn_id.is_not(None),
            _lapsed_clause(utcnow()),
        )
        .values(turn_id=None, turn_started_at=None, turn_lease_until=None, stop_requested=False)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    last = select(ChatSession.message_count - 1).where(ChatSession.id == session_id)
    db.session.execute(
        update(ChatMessage)
        .where(
            ChatMessage.session_id == session_id,
            ChatMessage.position == last.scalar_subquery(),
            ChatMessage.role == "user",
            ChatMessage.status == "complete",
        )
        .values(status="failed", error_code=TURN_ABANDONED)
        .execution_options(synchronize_session=False)
    )
    log.warning("Took over the abandoned turn of session %s", session_id)
    return True


def release(session_id: uuid.UUID, turn_id: str, **values: Any) -> Row[Any] | None:
    """Release the lock if this turn still holds it, setting ``values`` with it (caller
    commits); return the conversation's title and whether its user set it, or None when
    the turn no longer held the lock."""
    return db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session_id, ChatSession.turn_id == turn_id)
        .values(
            turn_id=None,
            turn_started_at=None,
            turn_lease_until=None,
            stop_requested=False,
            **values,
        )
        .returning(ChatSession.title, ChatSession.title_set_by_user)
        .execution_options(synchronize_session=False)
    ).first()


def renew(connection: Connection, turns: Iterable[tuple[uuid.UUID, str]]) -> None:
    """Extend the leases of these running turns, in one statement (caller commits)."""
    turns = list(turns)
    if not turns:
        return
    connection.execute(
        update(ChatSession)
        .where(
            ChatSession.id.in_({session_id for session_id, _ in turns}),
            ChatSession.turn_id.in_({turn_id for _, turn_id in turns}),
        )
        .values(turn_lease_until=utcnow() + timedelta(seconds=lease_seconds()))
    )
