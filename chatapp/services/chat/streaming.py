"""A turn's reply as server-sent events (``POST /api/v1/chat/message/stream``).

The reply is stored once, at the end: as ``complete``, or ``interrupted`` after a stop, a
broken model stream or a client that went away. When it cannot be stored, the stream
still ends with an ``error`` event (``DATABASE_UNAVAILABLE``, stored later by the watcher;
or ``TURN_ABANDONED`` if the turn lost its lock).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from chatapp import sse
from chatapp.errors import DATABASE_DOWN, UNEXPECTED, ApiError
from chatapp.gemini import ModelError, Usage, get_model
from chatapp.models import COMPLETE, INTERRUPTED
from chatapp.services.chat import events, stops
from chatapp.services.chat.prepared import PreparedTurn, StoredReply
from chatapp.services.chat.turns import (
    DATABASE_ERRORS,
    complete_turn,
    fail_turn,
    store_later,
)

log = logging.getLogger(__name__)


def stream_reply(turn: PreparedTurn) -> Iterator[sse.Item]:
    """Stream the reply to a prepared turn as SSE events, storing it once at the end.

    Events (:mod:`.events`): ``start``, ``content``… and ``end`` (``stopped`` when a stop
    interrupted it), or ``error`` with the model's code. A failure before the first chunk
    marks the user's message failed, as without streaming.
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


def _start_stream(model: Any, turn: PreparedTurn) -> Any:
    """Retrieve and summarise for the turn (its lease renewed meanwhile), then start the
    model's reply stream."""
    with stops.watcher().watching(turn.session_id, turn.turn_id, None):
        turn.ready()
    return model.stream(*turn.model_args())


def _store(
    turn: PreparedTurn,
    text: str,
    usage: Usage,
    model: str,
    status: str,
    error_code: str | None = None,
) -> StoredReply | events.Error:
    """Store the streamed reply (see :func:`complete_turn`), or return the error event that
    ends the stream when it cannot be."""
    try:
        return complete_turn(turn, text, usage, model, status, error_code)
    except DATABASE_ERRORS:
        log.error("Database unavailable at the end of a stream in session %s", turn.session_id)
        store_later(turn, text, usage, model)
        return _error_event(DATABASE_DOWN)
    except ApiError as exc:
        return events.Error(code=exc.code, message=exc.message)


def _finish(
    turn: PreparedTurn,
    received: list[str],
    usage: Usage,
    model: str,
    status: str = COMPLETE,
    stopped: bool = False,
) -> events.End | events.Error:
    """Store the reply and return the stream's last event: ``end``, or ``error``."""
    stored = _store(turn, "".join(received), usage, model, status)
    if isinstance(stored, events.Error):
        return stored
    return _end_event(stored, status, stopped)


def _failure_event(
    turn: PreparedTurn, received: list[str], usage: Usage, model: str, exc: Exception
) -> events.Error:
    """Store what a failed stream leaves behind and describe the failure as an event."""
    error = exc if isinstance(exc, ModelError) else UNEXPECTED
    if error is UNEXPECTED:
        log.exception("A stream failed in session %s", turn.session_id, exc_info=exc)
    if received:
        stored = _store(turn, "".join(received), usage, model, INTERRUPTED, error.code)
        return stored if isinstance(stored, events.Error) else _error_event(error)
    try:
        fail_turn(turn, error)
    except DATABASE_ERRORS:
        store_later(turn, "", usage, model)
        return _error_event(DATABASE_DOWN)
    return _error_event(error)


def _error_event(error: ModelError) -> events.Error:
    """The ``error`` event for a failure."""
    return events.Error(code=error.code, message=error.message)


def _end_event(reply: StoredReply, status: str, stopped: bool) -> events.End:
    """The ``end`` event for a stored reply, from what was stored (no database read)."""
    return events.End(
        messageId=reply.message_id,
        model=reply.model,
        status=status,
        title=reply.title,
        content=reply.content,
        sources=reply.sources or [],
        grounding=reply.grounding,
        omittedAttachments=reply.omitted_attachments or [],
        stopped=True if stopped else None,
    )
