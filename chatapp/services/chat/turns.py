"""A chat turn: store the user's message, ask the model, store the reply.

The guarantees: the user's message is committed before the model is called; the reply is
committed before the caller is told it is done; a model failure marks the user's message
failed (it is never sent to the model again) and leaves the conversation usable; one turn
at a time per conversation, across every worker (the turn lock is a row update under a
lease, see ``leases.py``); a turn that lost its lock stores nothing; a reply that cannot be
stored because the database is unreachable is stored, cut off, as soon as it is back.
Streaming a turn's reply is in ``streaming.py``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatapp.errors import DATABASE_DOWN, UNEXPECTED, ApiError, NotFound, api_error
from chatapp.extensions import db
from chatapp.gemini import ModelError, Usage, fallback_title, get_model
from chatapp.models import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    ChatMessage,
    ChatSession,
    UploadedFile,
    User,
    utcnow,
)
from chatapp.services import files
from chatapp.services.chat import (
    attachments,
    conversations,
    grounding,
    leases,
    personalities,
    stops,
    summaries,
)
from chatapp.services.chat.context import Plan, estimate_tokens
from chatapp.services.chat.prepared import AT_THE_END, Placement, PreparedTurn, StoredReply

log = logging.getLogger(__name__)
# The database is unreachable (or its connection pool exhausted): nothing could be stored.
DATABASE_ERRORS = (OperationalError, PoolTimeout)


def prepare_turn(
    user: User,
    text: str,
    session_id: str | None,
    personality_id: str | None = None,
    collection_ids: list[str] | None = None,
    web_search: bool | None = None,
    attachment_ids: Sequence[str] = (),
) -> PreparedTurn:
    """Lock the conversation (creating it if needed) and commit the user's message.

    ``collection_ids``/``web_search``, when given, become the conversation's grounding;
    ``attachment_ids`` are attached to the message. Both are checked before anything is
    stored.
    """
    system = personalities.system_prompt_for(user, personality_id)
    ids = conversations.check_collections(user, collection_ids)
    new_files = attachments.check(user, attachment_ids)
    if session_id is None:
        session = conversations.create_session(user)
        new_files = attachments.check(user, attachment_ids)  # locked again after that commit
    else:
        session = conversations.get_session(user, session_id)
        conversations.require_open(session)
    if system is not None:
        session.system_prompt = system
    conversations.apply_grounding(session, ids, web_search)
    return begin_turn(session, user.id, text, new_files=new_files)


def begin_turn(
    session: ChatSession,
    user_id: int,
    text: str,
    place: Placement = AT_THE_END,
    new_files: Sequence[UploadedFile] = (),
) -> PreparedTurn:
    """Lock an open conversation and commit the turn's user message (with ``new_files``)
    where ``place`` says.

    The lock and the message are one transaction: the conditional update holds the
    conversation's row until the commit, so positions and the path are read and written
    under it.
    """
    answered = place.answered
    turn_id = _lock(session, **attachments.session_values(new_files))
    if answered is not None and session.has_files:
        new_files = attachments.of_message(answered.id)  # a regeneration resends its files
    sent = attachments.current(new_files, _budget(text))
    rows = _path_rows(session, place)
    plan = summaries.plan_turn(attachments.pairs(rows, session.has_files), sent.budget)
    message, reply_position = _user_message(session, place, text, rows, new_files)
    # Read before the commit: afterwards every attribute would be reloaded in a new
    # transaction, holding a pooled connection for as long as the reply streams.
    prepared = _prepared(session, turn_id, message, plan, user_id)
    prepared.budget = sent.budget
    prepared.reply_position, prepared.regenerated = reply_position, answered is not None
    prepared.files = sent if session.has_files else None
    db.session.commit()
    return prepared


def _user_message(
    session: ChatSession,
    place: Placement,
    text: str,
    rows: list[Any],
    new_files: Sequence[UploadedFile],
) -> tuple[ChatMessage, int | None]:
    """The turn's user message and where its reply goes (None: right after it). A
    regeneration answers the stored message again, its reply at the next position; other
    turns add the message, with ``new_files``, below the path's end (``rows``) or, for an
    edit, below the edited message's parent, and an edit makes it the active path's."""
    if place.answered is not None:
        return place.answered, session.message_count - 1
    parent_id = place.parent_id if place.edit else (rows[-1].id if rows else None)
    message = _add(session.id, session.message_count - 1, "user", text, parent_id=parent_id)
    files.attach(new_files, message)
    if place.edit:
        session.active_message_id = message.id
    return message, None


def _budget(text: str) -> int:
    """The tokens a turn whose message is ``text`` may send before it."""
    return int(current_app.config["CHAT_CONTEXT_TOKENS"]) - estimate_tokens(text)


def _path_rows(session: ChatSession, place: Placement) -> list[Any]:
    """The history rows of the path a turn placed at ``place`` follows (with the files'
    columns in a conversation with files)."""
    answered = place.answered
    if answered is None and not place.edit:
        return conversations.history_rows(session.id, with_files=session.has_files)
    through = answered.parent_id if answered is not None else place.parent_id
    if through is None:
        return []
    return conversations.history_rows(session.id, through, session.has_files)


def _prepared(
    session: ChatSession, turn_id: str, message: ChatMessage, plan: Plan, user_id: int
) -> PreparedTurn:
    """The prepared turn of a stored user message, with the conversation's grounding."""
    return PreparedTurn(
        session.id,
        turn_id,
        message.id,
        message.position,
        message.content,
        plan,
        session.system_prompt,
        user_id,
        list(session.collection_ids or []),
        session.web_search,
    )


def _lock(session: ChatSession, **values: object) -> str:
    """Take the conversation's turn lock and its next position (caller commits), or answer
    409 SESSION_BUSY (410 SESSION_RESET if it was archived meanwhile, 404 if it was
    deleted). ``session`` then holds the row as locked (its ``message_count`` counts the
    message about to be added); ``values`` are set on it in the same statement."""
    key = session.id
    turn_id = leases.acquire(
        session, message_count=ChatSession.message_count + 1, updated_at=utcnow(), **values
    )
    if turn_id is None:
        db.session.rollback()
        current = db.session.get(ChatSession, key)  # as it is now
        if current is None:
            raise NotFound("Session")
        conversations.require_open(current)
        raise conversations.session_busy()
    return turn_id


def _add(
    session_id: uuid.UUID, position: int, role: str, text: str, **fields: object
) -> ChatMessage:
    """Insert a message at a position the turn's lock reserved (caller commits)."""
    message = ChatMessage(
        session_id=session_id, position=position, role=role, content=text, **fields
    )
    db.session.add(message)
    db.session.flush()
    return message


def complete_turn(
    turn: PreparedTurn,
    text: str,
    usage: Usage,
    model: str,
    status: str = COMPLETE,
    error_code: str | None = None,
) -> StoredReply:
    """Store the reply as one model message, release the lock, and title a new chat.

    A grounded reply is stored with its citation markers cleaned and its sources. A turn
    that no longer holds the lock stores nothing: 409 ``TURN_ABANDONED`` (its lease lapsed
    and the conversation was taken over), or 404 if the conversation was deleted.
    """
    position = turn.next_position
    # A regenerated reply makes the path through the message it answers active, once it
    # is stored (a failed or abandoned regeneration leaves the path as it was).
    path = {"active_message_id": turn.user_message_id} if turn.regenerated else {}
    locked = leases.release(
        turn.session_id, turn.turn_id, message_count=position + 1, updated_at=utcnow(), **path
    )
    if locked is None:
        raise _lost(turn)
    text, sources, meta = grounding.finish(turn.grounding, text, usage.web)
    reply = _add(
        turn.session_id,
        position,
        "model",
        text,
        parent_id=turn.user_message_id,
        sources=sources,
        grounding=meta,
        status=status,
        error_code=error_code,
        model=model,
        prompt_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        omitted_attachments=turn.omitted or None,
    )
    title, titled_by_user = locked
    turn.stored = _stored(turn, reply, model, title)
    db.session.commit()
    if not turn.history and title is None and not titled_by_user:
        first = turn.message or attachments.names(turn.attachments)  # only files sent
        turn.stored.title = _auto_title(turn.session_id, first, status == COMPLETE)
    return turn.stored


def _stored(turn: PreparedTurn, reply: ChatMessage, model: str, title: str | None) -> StoredReply:
    """What was stored as ``turn``'s reply, read before the commit (no database read)."""
    return StoredReply(
        turn.session_id,
        reply.id,
        reply.content,
        reply.sources,
        reply.grounding,
        reply.created_at,
        model,
        title,
        turn.omitted or None,
    )


def fail_turn(turn: PreparedTurn, exc: ModelError) -> None:
    """Mark the user's message failed with the error's code and release the lock.

    A turn that lost its lock leaves the message as the takeover marked it; a failed
    regeneration leaves the message it answered (and its earlier replies) as they were.
    """
    if leases.release(turn.session_id, turn.turn_id) is not None and not turn.regenerated:
        message = db.session.get(ChatMessage, turn.user_message_id, populate_existing=True)
        if message is not None:
            message.status = FAILED
            message.error_code = exc.code
    db.session.commit()
    log.warning("Turn failed in session %s: %s", turn.session_id, exc.code)


def _lost(turn: PreparedTurn) -> ApiError:
    """The error for a turn that no longer holds its conversation's lock (rolls back)."""
    db.session.rollback()
    if db.session.get(ChatSession, turn.session_id) is None:
        return NotFound("Session")  # deleted while the model was answering
    return ApiError(
        409,
        leases.TURN_ABANDONED,
        "This reply took too long to be saved and was abandoned; send the message again.",
    )


def store_later(turn: PreparedTurn, text: str, usage: Usage, model: str) -> None:
    """The database failed while a turn was being stored: store it once the database is
    back (as cut off by the outage), unless the turn lost its lock meanwhile."""
    db.session.rollback()

    def settle() -> None:
        """Store the turn, or leave it to the takeover that got there first."""
        try:
            if text:
                complete_turn(turn, text, usage, model, INTERRUPTED, DATABASE_DOWN.code)
            else:
                fail_turn(turn, DATABASE_DOWN)
        except ApiError:
            db.session.rollback()  # taken over meanwhile: the takeover marked the message

    stops.watcher().settle_later(turn.session_id, turn.turn_id, settle)


def _auto_title(session_id: uuid.UUID, first_message: str, ask_model: bool) -> str | None:
    """Title the conversation after its first exchange, unless the user already did;
    return the title stored (None if the user titled it meanwhile or it could not be).

    An interrupted first reply gets its title from the message's first words, so a stop
    is not held up by another model call.
    """
    title = get_model().title(first_message) if ask_model else fallback_title(first_message)
    try:
        stored = db.session.execute(
            update(ChatSession)
            .where(ChatSession.id == session_id, ChatSession.title_set_by_user.is_(False))
            .values(title=title[:200])
            .returning(ChatSession.title)
            .execution_options(synchronize_session=False)
        ).scalar()
        db.session.commit()
    except DATABASE_ERRORS:  # the reply is stored; the title is not worth failing it for
        db.session.rollback()
        log.warning("Could not title session %s: the database is unavailable", session_id)
        return None
    return stored


def send_message(
    user: User,
    text: str,
    session_id: str | None,
    personality_id: str | None = None,
    collection_ids: list[str] | None = None,
    web_search: bool | None = None,
    attachment_ids: Sequence[str] = (),
) -> StoredReply:
    """Run one turn without streaming; return the stored reply."""
    turn = prepare_turn(
        user, text, session_id, personality_id, collection_ids, web_search, attachment_ids
    )
    return answer(turn)


def answer(turn: PreparedTurn) -> StoredReply:
    """Ask the model for a prepared turn's whole reply and store it; return it."""
    model = get_model()
    try:
        with stops.watcher().watching(turn.session_id, turn.turn_id, None):
            turn.ready()
            reply_text, usage = model.send(*turn.model_args())
    except ModelError as exc:
        fail_turn(turn, exc)
        raise api_error(exc) from exc
    except Exception:
        fail_turn(turn, UNEXPECTED)
        raise
    try:
        return complete_turn(turn, reply_text, usage, model.name)
    except DATABASE_ERRORS:
        store_later(turn, reply_text, usage, model.name)
        raise


def one_off(
    user: User,
    prompt: str,
    collection_ids: list[str] | None = None,
    web_search: bool = False,
    attachment_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Answer a prompt with no conversation: ``{"text", "sources", "model", "grounding"?}``.

    Its files are sent with it and stay unattached (removed after ``FILES_UNATTACHED_TTL``).
    """
    ids = conversations.check_collections(user, collection_ids) or []
    sent = attachments.one_off(user, attachment_ids)
    found = grounding.prepare(user.id, prompt, [str(i) for i in ids], web_search)
    model = get_model()
    try:
        text, usage = model.generate(prompt, None, found.model_input if found else None, sent)
    except ModelError as exc:
        raise api_error(exc) from exc
    text, sources, meta = grounding.finish(found, text, usage.web)
    result = {"text": text, "sources": sources or [], "model": model.name}
    if meta:
        result["grounding"] = meta
    return result
