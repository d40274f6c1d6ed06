"""Conversations: find, list, create, rename, archive, delete, and page through messages.

Another user's conversation behaves exactly like a missing one (404). An archived one
(seed 002's reset, or the page's Archive) stays readable, but no turn may add to it: 410
``SESSION_RESET`` until it is unarchived.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import selectinload

from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.ids import parse_id
from chatapp.models import ChatMessage, ChatSession, UploadedFile, User, utcnow
from chatapp.services import files
from chatapp.services.chat import leases
from chatapp.services.knowledge import retrieval


def get_session(user: User, session_id: str | uuid.UUID) -> ChatSession:
    """Return the user's conversation, or raise 404 (also for someone else's)."""
    key = parse_id(session_id)
    session = db.session.get(ChatSession, key) if key else None
    if session is None or session.user_id != user.id:
        raise NotFound("Session")
    if leases.lapsed(session) and leases.reclaim(session.id):
        db.session.commit()  # the turn in progress was abandoned by its dead holder
    return session


def session_reset() -> ApiError:
    """The error for a turn sent to an archived conversation (seed 002's words)."""
    return ApiError(
        410,
        "SESSION_RESET",
        "This conversation has been saved and reset. Please start a new chat to continue.",
        error="Session was reset",
    )


def require_open(session: ChatSession) -> None:
    """Refuse to add to an archived conversation: 410 ``SESSION_RESET``."""
    if session.archived:
        raise session_reset()


def create_session(user: User, title: str | None = None) -> ChatSession:
    """Start an empty conversation."""
    session = ChatSession(user_id=user.id, title=title, title_set_by_user=title is not None)
    db.session.add(session)
    db.session.commit()
    return session


def list_sessions(
    user: User, limit: int, offset: int, query: str | None = None, archived: bool = False
) -> tuple[list[tuple[ChatSession, str | None]], int]:
    """Return one page of the user's open (or archived) conversations, newest first, each
    with the text of its newest message; and their total."""
    where = [ChatSession.user_id == user.id, ChatSession.archived == archived]
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
    return [(session, text) for session, text in rows], total or 0


def session_ids(user: User) -> list[uuid.UUID]:
    """Return the ids of all the user's conversations, most recently active first."""
    return list(
        db.session.scalars(
            select(ChatSession.id)
            .where(ChatSession.user_id == user.id)
            .order_by(ChatSession.updated_at.desc())
        )
    )


def sessions_with_messages(user: User) -> list[ChatSession]:
    """Return all the user's conversations, newest first, with their messages loaded."""
    return list(
        db.session.scalars(
            select(ChatSession)
            .where(ChatSession.user_id == user.id)
            .options(selectinload(ChatSession.messages))
            .order_by(ChatSession.created_at.desc(), ChatSession.id)
        )
    )


def archived_among(
    user: User, ids: list[uuid.UUID], limit: int, offset: int
) -> tuple[list[ChatSession], int]:
    """Return one page of the user's archived conversations among ``ids`` (newest first),
    and how many there are; none when no ids are given."""
    if not ids:
        return [], 0
    where = [ChatSession.user_id == user.id, ChatSession.archived, ChatSession.id.in_(ids)]
    total = db.session.scalar(select(func.count()).select_from(ChatSession).where(*where))
    rows = db.session.scalars(
        select(ChatSession)
        .where(*where)
        .order_by(ChatSession.created_at.desc(), ChatSession.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so a filter matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_collections(user: User, ids: list[str] | None) -> list[uuid.UUID] | None:
    """Validate collection ids a client chose (None: not given); 404 for unreadable ones."""
    return None if ids is None else retrieval.check_collections(user, ids)


def apply_grounding(
    session: ChatSession, ids: list[uuid.UUID] | None, web_search: bool | None
) -> None:
    """Set what the conversation's turns are grounded on, where given (caller commits)."""
    if ids is not None:
        session.collection_ids = [str(key) for key in ids]
    if web_search is not None:
        session.web_search = web_search


def update_session(
    user: User,
    session_id: str,
    collection_ids: list[str] | None,
    web_search: bool | None,
    archived: bool | None = None,
) -> ChatSession:
    """Change a conversation's collections, web-search flag and archived flag, where given
    (all checked before any change)."""
    session = get_session(user, session_id)
    apply_grounding(session, check_collections(user, collection_ids), web_search)
    if archived is not None:
        session.archived = archived
    session.updated_at = utcnow()
    db.session.commit()
    return session


def rename_session(user: User, session_id: str, title: str) -> ChatSession:
    """Set a title chosen by the user; automatic titles never replace it."""
    session = get_session(user, session_id)
    session.title = title.strip()
    session.title_set_by_user = True
    session.updated_at = utcnow()
    db.session.commit()
    return session


def delete_session(user: User, session_id: str) -> uuid.UUID:
    """Delete a conversation, all its messages and the files attached to them."""
    session = get_session(user, session_id)
    key = session.id
    files.delete_for_session(key)
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


def history_rows(session_id: uuid.UUID, with_files: bool = False) -> list[Row[Any]]:
    """A conversation's ``(role, content, status)`` rows in order: what a turn's history is
    derived from, read as plain rows on the session's connection (no ORM loading for
    hundreds of messages). ``with_files`` (a conversation with attachments) adds the
    columns of :func:`with_file_columns`."""
    query = (
        select(ChatMessage.role, ChatMessage.content, ChatMessage.status)
        .where(ChatMessage.session_id == session_id)
        .order_by(ChatMessage.position)
    )
    if with_files:
        query = with_file_columns(query)
    return list(db.session.connection().execute(query))


def with_file_columns(query: Select[Any]) -> Select[Any]:
    """History rows with ``message_id`` and the attached files (services/chat/attachments.py):
    a message with files has one row per file (``file_id``, ``file_name``, ``file_mime``,
    ``file_tokens``, ``file_size``; no bytes), the others one row with those null."""
    return (
        query.add_columns(
            ChatMessage.id.label("message_id"),
            UploadedFile.id.label("file_id"),
            UploadedFile.name.label("file_name"),
            UploadedFile.mime_type.label("file_mime"),
            UploadedFile.tokens.label("file_tokens"),
            UploadedFile.size.label("file_size"),
        )
        .outerjoin(UploadedFile, UploadedFile.message_id == ChatMessage.id)
        .order_by(UploadedFile.created_at, UploadedFile.id)
    )
