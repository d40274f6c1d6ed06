"""Conversations: find, list, create, rename, archive, delete, and page through messages.

Another user's conversation behaves exactly like a missing one (404). An archived one
(seed 002's reset, or the page's Archive) stays readable, but no turn may add to it: 410
``SESSION_RESET`` until it is unarchived.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import selectinload

from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.ids import parse_id
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.services import files
from chatapp.services.chat import leases, paths
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


def session_busy() -> ApiError:
    """The error for a turn or change asked for while a reply is being written."""
    return ApiError(
        409,
        "SESSION_BUSY",
        "A reply is still being written in this conversation; wait for it or stop it.",
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


def sessions_with_messages(user: User) -> list[tuple[ChatSession, list[ChatMessage]]]:
    """Return all the user's conversations, newest first, each with its active path's
    messages (all messages loaded in one query, the paths found among them)."""
    sessions = db.session.scalars(
        select(ChatSession)
        .where(ChatSession.user_id == user.id)
        .options(selectinload(ChatSession.messages))
        .order_by(ChatSession.created_at.desc(), ChatSession.id)
    )
    return [
        (session, paths.active_path(session.messages, session.active_message_id))
        for session in sessions
    ]


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
    """Return up to ``limit`` messages of the active path older than its message
    ``before``, oldest first."""
    below = END
    if before is not None:
        anchor = db.session.get(ChatMessage, before)
        if anchor is None or anchor.session_id != session.id:
            raise NotFound("Message")
        below = anchor.position
    page = {**paths.params(session.id), "below": below, "size": limit + 1}
    rows = list(db.session.scalars(PATH_PAGE, page))
    return list(reversed(rows[:limit])), len(rows) > limit


def with_siblings(
    session: ChatSession, messages: list[ChatMessage]
) -> list[tuple[ChatMessage, paths.Siblings]]:
    """Each message with its place among its siblings (one query for them all)."""
    places = paths.siblings(session.id, messages)
    return [(message, places[message.id]) for message in messages]


# The active path's messages in order, and one page of them going back from position
# ``below`` (statements built once: see ``paths``).
END = 2**31 - 1
PATH_PAGE = (
    select(ChatMessage)
    .where(ChatMessage.id.in_(paths.path_ids()), ChatMessage.position < bindparam("below"))
    .order_by(ChatMessage.position.desc())
    .limit(bindparam("size"))
)
PATH_MESSAGES = (
    select(ChatMessage).where(ChatMessage.id.in_(paths.path_ids())).order_by(ChatMessage.position)
)
_ROWS = select(ChatMessage.id, ChatMessage.role, ChatMessage.content, ChatMessage.status)
HISTORY_ROWS = {
    False: _ROWS.where(ChatMessage.id.in_(paths.path_ids())).order_by(ChatMessage.position),
    True: _ROWS.where(ChatMessage.id.in_(paths.path_ids(0))).order_by(ChatMessage.position),
}


def stored_messages(session: ChatSession) -> list[ChatMessage]:
    """Return the messages of a conversation's active path in order."""
    return list(db.session.scalars(PATH_MESSAGES, paths.params(session.id)))


def history_rows(
    session_id: uuid.UUID, through: int | None = None
) -> list[Row[tuple[int, str, str, str]]]:
    """The ``(id, role, content, status)`` rows of the conversation's active path in order
    (of the path ending at message ``through`` when given): what a turn's history is
    derived from, read as plain rows on the session's connection (no ORM loading for
    hundreds of messages)."""
    statement = HISTORY_ROWS[through is not None]
    return list(db.session.connection().execute(statement, paths.params(session_id, through)))
