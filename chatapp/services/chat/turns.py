"""A chat turn: store the user's message, ask the model, store the reply.

The guarantees: the user's message is committed before the model is called; the reply is
committed before the caller is told it is done; a model failure marks the user's message
failed (it is never sent to the model again) and leaves the conversation usable; one turn
at a time per conversation, across every worker (the turn lock is a row update under a
lease, see ``leases.py``); a turn that lost its lock stores nothing; a stream whose reply
cannot be stored because the database is unreachable ends with a ``DATABASE_UNAVAILABLE``
error and is stored, cut off, as soon as the database is back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import inspect, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatapp import sse
from chatapp.errors import DATABASE_DOWN, UNEXPECTED, ApiError, NotFound, api_error
from chatapp.extensions import db
from chatapp.gemini import ModelError, Turn, Usage, fallback_title, get_model
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.services.chat import conversations, leases, personalities, stops
from chatapp.services.chat.context import estimate_tokens, model_history

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted"
# The database is unreachable (or its connection pool exhausted): nothing could be stored.
DATABASE_ERRORS = (OperationalError, PoolTimeout)


@dataclass
class PreparedTurn:
    """A turn whose user message is stored and whose conversation is locked for it."""

    session_id: uuid.UUID
    turn_id: str
    user_message_id: int
    position: int
    message: str
    history: list[Turn]
    system: str | None


def resolve_personality(user: User, personality_id: str | None) -> str | None:
    """Return the system prompt of a personality the user may use (404 otherwise), or None."""
    if personality_id is None:
        return None
    return personalities.system_prompt_for(user, personality_id)


def prepare_turn(
    user: User, text: str, session_id: str | None, personality_id: str | None = None
) -> PreparedTurn:
    """Lock the conversation (creating it if needed) and commit the user's message.

    The lock and the message are one transaction: the conditional update holds the
    conversation's row until the commit, so positions are read and written under it.
    """
    system = resolve_personality(user, personality_id)
    if session_id is None:
        session = conversations.create_session(user)
    else:
        session = conversations.get_session(user, session_id)
    if system is not None:
        session.system_prompt = system
    turn_id = _lock(session)
    db.session.refresh(session)
    budget = current_app.config["CHAT_CONTEXT_TOKENS"] - estimate_tokens(text)
    history = model_history(conversations.stored_messages(session), budget)
    message = _append(session, "user", text)
    db.session.commit()
    return PreparedTurn(
        session.id, turn_id, message.id, message.position, text, history, session.system_prompt
    )


def _lock(session: ChatSession) -> str:
    """Take the conversation's turn lock (caller commits), or answer 409 SESSION_BUSY."""
    turn_id = leases.acquire(session)
    if turn_id is None:
        db.session.rollback()
        raise ApiError(
            409,
            "SESSION_BUSY",
            "A reply is still being written in this conversation; wait for it or stop it.",
        )
    return turn_id


def _append(session: ChatSession, role: str, text: str, **fields: object) -> ChatMessage:
    """Add a message at the next position of the conversation (caller commits)."""
    message = ChatMessage(
        session_id=session.id, position=session.message_count, role=role, content=text, **fields
    )
    session.message_count += 1
    session.updated_at = utcnow()
    db.session.add(message)
    db.session.flush()
    return message


def complete_turn(
    turn: PreparedTurn,
    text: str,
    usage: Usage,
    model: str,
    status: str = "complete",
    error_code: str | None = None,
) -> ChatMessage:
    """Store the reply as one model message, release the lock, and title a new chat.

    A turn that no longer holds the lock stores nothing: 409 ``TURN_ABANDONED`` (its lease
    lapsed and the conversation was taken over), or 404 if the conversation was deleted.
    """
    if not leases.release(turn.session_id, turn.turn_id):
        raise _lost(turn)
    session = db.session.get(ChatSession, turn.session_id, populate_existing=True)
    assert session is not None  # its row was just updated
    reply = _append(
        session,
        "model",
        text,
        status=status,
        error_code=error_code,
        model=model,
        prompt_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
    )
    untitled = not turn.history and session.title is None and not session.title_set_by_user
    db.session.commit()
    if untitled:
        _auto_title(turn.session_id, turn.message, ask_model=status == "complete")
    return reply


def fail_turn(turn: PreparedTurn, exc: ModelError) -> None:
    """Mark the user's message failed with the error's code and release the lock.

    A turn that lost its lock leaves the message as the takeover marked it.
    """
    if leases.release(turn.session_id, turn.turn_id):
        message = db.session.get(ChatMessage, turn.user_message_id, populate_existing=True)
        if message is not None:
            message.status = "failed"
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


def _auto_title(session_id: uuid.UUID, first_message: str, ask_model: bool) -> None:
    """Title the conversation after its first exchange, unless the user already did.

    An interrupted first reply gets its title from the message's first words, so a stop
    is not held up by another model call.
    """
    title = get_model().title(first_message) if ask_model else fallback_title(first_message)
    try:
        db.session.execute(
            update(ChatSession)
            .where(ChatSession.id == session_id, ChatSession.title_set_by_user.is_(False))
            .values(title=title[:200])
        )
        db.session.commit()
    except DATABASE_ERRORS:  # the reply is stored; the title is not worth failing it for
        db.session.rollback()
        log.warning("Could not title session %s: the database is unavailable", session_id)


def send_message(
    user: User, text: str, session_id: str | None, personality_id: str | None = None
) -> tuple[ChatSession, ChatMessage]:
    """Run one turn without streaming; return the conversation and the stored reply."""
    turn = prepare_turn(user, text, session_id, personality_id)
    model = get_model()
    try:
        with stops.watcher().watching(turn.session_id, turn.turn_id, None):
            reply_text, usage = model.send(str(turn.session_id), turn.history, text, turn.system)
    except ModelError as exc:
        fail_turn(turn, exc)
        raise api_error(exc) from exc
    except Exception:
        fail_turn(turn, UNEXPECTED)
        raise
    try:
        reply = complete_turn(turn, reply_text, usage, model.name)
    except DATABASE_ERRORS:
        store_later(turn, reply_text, usage, model.name)
        raise
    return conversations.get_session(user, turn.session_id), reply


def one_off(prompt: str) -> tuple[str, str]:
    """Answer a prompt with no conversation; return the text and the model's name."""
    model = get_model()
    try:
        text, _ = model.generate(prompt)
    except ModelError as exc:
        raise api_error(exc) from exc
    return text, model.name


def stream_reply(turn: PreparedTurn) -> Iterator[dict[str, Any] | str]:
    """Stream the reply to a prepared turn as SSE events, storing it once at the end.

    Events: ``start``, ``content``… and ``end`` (``stopped`` when a stop interrupted it),
    or ``error`` with the model's code. A stop, a broken model stream or a client that
    goes away leaves what was received stored as one ``interrupted`` reply; a failure
    before the first chunk marks the user's message failed, as without streaming. When the
    reply cannot be stored, the stream still ends with an ``error`` event
    (``DATABASE_UNAVAILABLE``, or ``TURN_ABANDONED`` if the turn lost its lock).
    """
    model = get_model()
    yield {"type": "start", "sessionId": str(turn.session_id), "model": model.name}
    reply = model.stream(str(turn.session_id), turn.history, turn.message, turn.system)
    pipe = sse.Pipe(reply, sse.keepalive_seconds())
    received: list[str] = []
    try:
        with stops.watcher().watching(turn.session_id, turn.turn_id, pipe):
            for item in pipe:
                if item is sse.KEEPALIVE:
                    yield item
                else:
                    received.append(item)
                    yield {"type": "content", "content": item}
    except sse.Interrupted:
        yield _finish(turn, received, reply.usage, model.name, INTERRUPTED, stopped=True)
        return
    except GeneratorExit:
        _store(turn, "".join(received), reply.usage, model.name, INTERRUPTED)
        log.info("Client left a stream in session %s", turn.session_id)
        raise
    except Exception as exc:
        yield _failure_event(turn, received, reply.usage, model.name, exc)
        return
    finally:
        pipe.close()
    yield _finish(turn, received, reply.usage, model.name)


def _store(
    turn: PreparedTurn,
    text: str,
    usage: Usage,
    model: str,
    status: str,
    error_code: str | None = None,
) -> ChatMessage | dict[str, Any]:
    """Store the streamed reply (see :func:`complete_turn`), or return the error event that
    ends the stream when it cannot be."""
    try:
        return complete_turn(turn, text, usage, model, status, error_code)
    except DATABASE_ERRORS:
        log.error("Database unavailable at the end of a stream in session %s", turn.session_id)
        store_later(turn, text, usage, model)
        return _error_event(DATABASE_DOWN)
    except ApiError as exc:
        return {"type": "error", "code": exc.code, "message": exc.message}


def _finish(
    turn: PreparedTurn,
    received: list[str],
    usage: Usage,
    model: str,
    status: str = "complete",
    stopped: bool = False,
) -> dict[str, Any]:
    """Store the reply and return the stream's last event: ``end``, or ``error``."""
    stored = _store(turn, "".join(received), usage, model, status)
    if isinstance(stored, dict):
        return stored
    return _end_event(turn, stored, model, status, stopped)


def _failure_event(
    turn: PreparedTurn, received: list[str], usage: Usage, model: str, exc: Exception
) -> dict[str, Any]:
    """Store what a failed stream leaves behind and describe the failure as an event."""
    error = exc if isinstance(exc, ModelError) else UNEXPECTED
    if error is UNEXPECTED:
        log.exception("A stream failed in session %s", turn.session_id, exc_info=exc)
    if received:
        stored = _store(turn, "".join(received), usage, model, INTERRUPTED, error.code)
        if isinstance(stored, dict):
            return stored
        return _error_event(error)
    try:
        fail_turn(turn, error)
    except DATABASE_ERRORS:
        store_later(turn, "", usage, model)
        return _error_event(DATABASE_DOWN)
    return _error_event(error)


def _error_event(error: ModelError) -> dict[str, Any]:
    """The ``error`` event for a failure."""
    return {"type": "error", "code": error.code, "message": error.message}


def _end_event(
    turn: PreparedTurn, reply: ChatMessage, model: str, status: str, stopped: bool
) -> dict[str, Any]:
    """The ``end`` event for a stored reply, with the conversation's title if the database
    still answers (the reply is stored either way)."""
    try:
        session = db.session.get(ChatSession, turn.session_id)
        title = session.title if session else None
    except DATABASE_ERRORS:
        db.session.rollback()
        title = None
    event: dict[str, Any] = {
        "type": "end",
        "messageId": inspect(reply).identity[0],
        "model": model,
        "status": status,
        "title": title,
    }
    if stopped:
        event["stopped"] = True
    return event
