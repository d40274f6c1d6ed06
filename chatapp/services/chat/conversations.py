"""Conversations: find, list, create, rename, delete, and page through messages.

Another user's conversation behaves exactly like a missing one (404).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from chatapp.errors import NotFound
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.rendering import render_markdown
from chatapp.services.chat import leases

# Role names as each API shows them: /api/v1 follows seed 003, seed 001's paths say "model".
API_ROLES = {"user": "user", "model": "assistant"}
STORED_ROLES = {"user": "user", "model": "model"}


def parse_id(session_id: str | uuid.UUID) -> uuid.UUID | None:
    """Return the UUID in ``session_id``, or None if it is not one."""
    if isinstance(session_id, uuid.UUID):
        return session_id
    try:
        return uuid.UUID(session_id)
    except (TypeError, ValueError):
        return None


def get_session(user: User, session_id: str | uuid.UUID) -> ChatSession:
    """Return the user's conversation, or raise 404 (also for someone else's)."""
    key = parse_id(session_id)
    session = db.session.get(ChatSession, key) if key else None
    if session is None or session.user_id != user.id:
        raise NotFound("Session")
    if leases.lapsed(session) and leases.reclaim(session.id):
        db.session.commit()  # the turn in progress was abandoned by its dead holder
    return session


def create_session(user: User, title: str | None = None) -> ChatSession:
    """Start an empty conversation."""
    session = ChatSession(user_id=user.id, title=title, title_set_by_user=title is not None)
    db.session.add(session)
    db.session.commit()
    return session


def list_sessions(
    user: User, limit: int, offset: int, query: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the user's conversations, newest first, and their total."""
    where = [ChatSession.user_id == user.id]
    if query:
        where.append(ChatSession.title.ilike(f"%{_escape_like(query)}%", escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(ChatSession).where(*where))
    last = (
        select(ChatMessage.content)
        .where(ChatMessage.session_id == ChatSession.id)
        .order_by(ChatMessage.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(ChatSession, last)
        .where(*where)
        .order_by(ChatSession.updated_at.desc(), ChatSession.id)
        .limit(limit)
        .offset(offset)
    )
    return [session_to_dict(s, last_message=text) for s, text in rows], total or 0


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so a filter matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rename_session(user: User, session_id: str, title: str) -> ChatSession:
    """Set a title chosen by the user; automatic titles never replace it."""
    session = get_session(user, session_id)
    session.title = title.strip()
    session.title_set_by_user = True
    session.updated_at = utcnow()
    db.session.commit()
    return session


def delete_session(user: User, session_id: str) -> uuid.UUID:
    """Delete a conversation and all its messages."""
    session = get_session(user, session_id)
    key = session.id
    db.session.delete(session)
    db.session.commit()
    return key


def message_page(
    session: ChatSession, before: int | None, limit: int
) -> tuple[list[ChatMessage], bool]:
    """Return up to ``limit`` messages older than message ``before``, oldest first."""
    where = [ChatMessage.session_id == session.id]
    if before is not None:
        anchor = db.session.get(ChatMessage, before)
        if anchor is None or anchor.session_id != session.id:
            raise NotFound("Message")
        where.append(ChatMessage.position < anchor.position)
    rows = list(
        db.session.scalars(
            select(ChatMessage).where(*where).order_by(ChatMessage.position.desc()).limit(limit + 1)
        )
    )
    return list(reversed(rows[:limit])), len(rows) > limit


def stored_messages(session: ChatSession) -> list[ChatMessage]:
    """Return every message of a conversation in order."""
    return list(
        db.session.scalars(
            select(ChatMessage)
            .where(ChatMessage.session_id == session.id)
            .order_by(ChatMessage.position)
        )
    )


def session_to_dict(session: ChatSession, **extra: Any) -> dict[str, Any]:
    """Serialise a conversation (seed 003's shape)."""
    return {
        "id": str(session.id),
        "user_id": session.user_id,
        "title": session.title,
        "created_at": session.created_at.isoformat(),
        "updated_at": session.updated_at.isoformat(),
        "message_count": session.message_count,
        "generating": session.turn_id is not None and not leases.lapsed(session),
        **extra,
    }


def message_to_dict(message: ChatMessage, roles: dict[str, str] = API_ROLES) -> dict[str, Any]:
    """Serialise a message, with its content rendered as sanitised HTML."""
    return {
        "id": message.id,
        "role": roles[message.role],
        "content": message.content,
        "html": render_markdown(message.content),
        "timestamp": message.created_at.isoformat(),
        "status": message.status,
        "error_code": message.error_code,
        "model": message.model,
    }
