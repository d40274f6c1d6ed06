"""A chat turn: store the user's message, ask the model, store the reply.

The guarantees: the user's message is committed before the model is called; the reply is
committed before the caller is told it is done; a model failure marks the user's message
failed (it is never sent to the model again) and leaves the conversation usable; one turn
at a time per conversation, across every worker (the turn lock is a row update).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, update

from chatapp import sse
from chatapp.errors import UNEXPECTED, ApiError, NotFound, api_error
from chatapp.extensions import db
from chatapp.gemini import ModelError, Turn, Usage, fallback_title, get_model
from chatapp.models import COMPLETE, FAILED, INTERRUPTED, ChatMessage, ChatSession, User, utcnow
from chatapp.services.chat import conversations, events, grounding, personalities, stops
from chatapp.services.chat.context import estimate_tokens, model_history

log = logging.getLogger(__name__)


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
    user_id: int = 0
    collection_ids: list[str] | None = None
    web_search: bool = False
    grounding: grounding.TurnGrounding | None = None

    def ground(self) -> None:
        """Retrieve for this turn's message (the model gets the passages for it only)."""
        self.grounding = grounding.prepare(
            self.user_id, self.message, self.collection_ids, self.web_search
        )


def resolve_personality(user: User, personality_id: str | None) -> str | None:
    """Return the system prompt of a personality the user may use (404 otherwise), or None."""
    if personality_id is None:
        return None
    return personalities.system_prompt_for(user, personality_id)


def prepare_turn(
    user: User,
    text: str,
    session_id: str | None,
    personality_id: str | None = None,
    collection_ids: list[str] | None = None,
    web_search: bool | None = None,
) -> PreparedTurn:
    """Lock the conversation (creating it if needed) and commit the user's message.

    The lock and the message are one transaction: the conditional update holds the
    conversation's row until the commit, so positions are read and written under it.
    ``collection_ids``/``web_search``, when given, become the conversation's grounding;
    they are checked before anything is stored.
    """
    system = resolve_personality(user, personality_id)
    ids = conversations.check_collections(user, collection_ids)
    if session_id is None:
        session = conversations.create_session(user)
    else:
        session = conversations.get_session(user, session_id)
    if system is not None:
        session.system_prompt = system
    conversations.apply_grounding(session, ids, web_search)
    turn_id = _lock(session)
    db.session.refresh(session)
    budget = current_app.config["CHAT_CONTEXT_TOKENS"] - estimate_tokens(text)
    history = model_history(conversations.stored_messages(session), budget)
    message = _append(session, "user", text)
    db.session.commit()
    return _prepared(session, turn_id, message, history, user.id)


def _prepared(
    session: ChatSession, turn_id: str, message: ChatMessage, history: list[Turn], user_id: int
) -> PreparedTurn:
    """The prepared turn of a stored user message, with the conversation's grounding."""
    return PreparedTurn(
        session.id,
        turn_id,
        message.id,
        message.position,
        message.content,
        history,
        session.system_prompt,
        user_id,
        list(session.collection_ids or []),
        session.web_search,
    )


def _lock(session: ChatSession) -> str:
    """Take the conversation's turn lock (caller commits), or answer 409 SESSION_BUSY."""
    turn_id = uuid.uuid4().hex
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["CHAT_TURN_TIMEOUT"])
    result = db.session.execute(
        update(ChatSession)
        .where(
            ChatSession.id == session.id,
            or_(ChatSession.turn_id.is_(None), ChatSession.turn_started_at < stale),
        )
        .values(turn_id=turn_id, turn_started_at=now, stop_requested=False)
    )
    if result.rowcount != 1:
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
    status: str = COMPLETE,
    error_code: str | None = None,
) -> ChatMessage:
    """Store the reply as one model message, release the lock, and title a new chat.

    A grounded reply is stored with its citation markers cleaned and its sources.
    """
    session = db.session.get(ChatSession, turn.session_id, populate_existing=True)
    if session is None:
        raise NotFound("Session")  # deleted while the model was answering
    text, sources, meta = grounding.finish(turn.grounding, text, usage.web)
    reply = _append(
        session,
        "model",
        text,
        sources=sources,
        grounding=meta,
        status=status,
        error_code=error_code,
        model=model,
        prompt_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
    )
    _release(turn)
    db.session.commit()
    if not turn.history and session.title is None and not session.title_set_by_user:
        _auto_title(session, turn.message, ask_model=status == COMPLETE)
    return reply


def fail_turn(turn: PreparedTurn, exc: ModelError) -> None:
    """Mark the user's message failed with the error's code and release the lock."""
    message = db.session.get(ChatMessage, turn.user_message_id, populate_existing=True)
    if message is not None:
        message.status = FAILED
        message.error_code = exc.code
    _release(turn)
    db.session.commit()
    log.warning("Turn failed in session %s: %s", turn.session_id, exc.code)


def _release(turn: PreparedTurn) -> None:
    """Release the turn lock if this turn still holds it (caller commits)."""
    db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == turn.session_id, ChatSession.turn_id == turn.turn_id)
        .values(turn_id=None, turn_started_at=None, stop_requested=False)
    )


def _auto_title(session: ChatSession, first_message: str, ask_model: bool) -> None:
    """Title the conversation after its first exchange, unless the user already did.

    An interrupted first reply gets its title from the message's first words, so a stop
    is not held up by another model call.
    """
    title = get_model().title(first_message) if ask_model else fallback_title(first_message)
    db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session.id, ChatSession.title_set_by_user.is_(False))
        .values(title=title[:200])
    )
    db.session.commit()


def send_message(
    user: User,
    text: str,
    session_id: str | None,
    personality_id: str | None = None,
    collection_ids: list[str] | None = None,
    web_search: bool | None = None,
) -> tuple[ChatSession, ChatMessage]:
    """Run one turn without streaming; return the conversation and the stored reply."""
    turn = prepare_turn(user, text, session_id, personality_id, collection_ids, web_search)
    model = get_model()
    try:
        turn.ground()
        reply_text, usage = model.send(
            str(turn.session_id), turn.history, text, turn.system, _model_input(turn)
        )
    except ModelError as exc:
        fail_turn(turn, exc)
        raise api_error(exc) from exc
    except Exception:
        fail_turn(turn, UNEXPECTED)
        raise
    reply = complete_turn(turn, reply_text, usage, model.name)
    return conversations.get_session(user, turn.session_id), reply


def _model_input(turn: PreparedTurn) -> Any:
    """What the model is given to ground this turn on, if anything."""
    return turn.grounding.model_input if turn.grounding else None


def one_off(
    user: User,
    prompt: str,
    collection_ids: list[str] | None = None,
    web_search: bool = False,
) -> dict[str, Any]:
    """Answer a prompt with no conversation: ``{"text", "sources", "model", "grounding"?}``."""
    ids = conversations.check_collections(user, collection_ids) or []
    found = grounding.prepare(user.id, prompt, [str(i) for i in ids], web_search)
    model = get_model()
    try:
        text, usage = model.generate(prompt, None, found.model_input if found else None)
    except ModelError as exc:
        raise api_error(exc) from exc
    text, sources, meta = grounding.finish(found, text, usage.web)
    result = {"text": text, "sources": sources or [], "model": model.name}
    if meta:
        result["grounding"] = meta
    return result


def stream_reply(turn: PreparedTurn) -> Iterator[sse.Item]:
    """Stream the reply to a prepared turn as SSE events, storing it once at the end.

    Events (:mod:`.events`): ``start``, ``content``… and ``end`` (``stopped`` when a stop
    interrupted it), or ``error`` with the model's code. A stop, a broken model stream or
    a client that goes away leaves what was received stored as one ``interrupted`` reply;
    a failure before the first chunk marks the user's message failed, as without streaming.
    """
    model = get_model()
    yield events.Start(sessionId=str(turn.session_id), model=model.name)
    try:
        reply = _start_stream(model, turn)
    except Exception as exc:
        yield _failure_event(turn, [], Usage(), model.name, exc)
        return
    pipe = sse.Pipe(reply, sse.keepalive_seconds())
    received: list[str] = []
    try:
        with stops.watcher().watching(turn.session_id, turn.turn_id, pipe):
            for item in pipe:
                if item is sse.KEEPALIVE:
                    yield item
                else:
                    received.append(item)
                    yield events.Content(content=item)
    except sse.Interrupted:
        stored = complete_turn(turn, "".join(received), reply.usage, model.name, INTERRUPTED)
        yield _end_event(stored, stopped=True)
        return
    except GeneratorExit:
        complete_turn(turn, "".join(received), reply.usage, model.name, INTERRUPTED)
        log.info("Client left a stream in session %s", turn.session_id)
        raise
    except Exception as exc:
        yield _failure_event(turn, received, reply.usage, model.name, exc)
        return
    finally:
        pipe.close()
    yield _end_event(complete_turn(turn, "".join(received), reply.usage, model.name))


def _start_stream(model: Any, turn: PreparedTurn) -> Any:
    """Retrieve for the turn, then start the model's reply stream."""
    turn.ground()
    return model.stream(
        str(turn.session_id), turn.history, turn.message, turn.system, _model_input(turn)
    )


def _failure_event(
    turn: PreparedTurn, received: list[str], usage: Usage, model: str, exc: Exception
) -> events.Error:
    """Store what a failed stream leaves behind and describe the failure as an event."""
    error = exc if isinstance(exc, ModelError) else UNEXPECTED
    if error is UNEXPECTED:
        log.exception("A stream failed in session %s", turn.session_id, exc_info=exc)
    if received:
        complete_turn(turn, "".join(received), usage, model, INTERRUPTED, error_code=error.code)
    else:
        fail_turn(turn, error)
    return events.Error(code=error.code, message=error.message)


def _end_event(reply: ChatMessage, stopped: bool = False) -> events.End:
    """The ``end`` event for a stored reply (with the conversation's title)."""
    session = db.session.get(ChatSession, reply.session_id)
    return events.End(
        messageId=reply.id,
        model=reply.model,
        status=reply.status,
        title=session.title if session else None,
        content=reply.content,
        sources=reply.sources or [],
        grounding=reply.grounding,
        stopped=True if stopped else None,
    )
