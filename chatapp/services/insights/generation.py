"""An insight's text from the model: whole, or streamed as SSE events; saved by the caller.

Both refuse an empty answer (``MODEL_EMPTY_REPLY``); a streamed failure becomes an
``error`` event saying that nothing was saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator

from chatapp import sse
from chatapp.errors import UNEXPECTED
from chatapp.extensions import db
from chatapp.gemini import ModelError, ReplyStream
from chatapp.services.insights import events

log = logging.getLogger(__name__)
# A model reply that is empty or only whitespace is not an insight.
EMPTY_REPLY = ModelError(502, "MODEL_EMPTY_REPLY", "The model returned an empty answer.")


def relay(
    stream: ReplyStream, piece: Callable[[str], sse.Event]
) -> Generator[sse.Item, None, str | None]:
    """Yield ``piece(text)`` per chunk (and keep-alives); return the whole text.

    Returns None, after yielding an :class:`events.Error`, when the model fails or answers with
    nothing. The model is read through an :class:`sse.Pipe`, which is closed in every case
    (also when the client leaves: ``GeneratorExit`` at a ``yield``), cancelling its request.
    """
    pipe = sse.Pipe(stream, sse.keepalive_seconds())
    parts: list[str] = []
    try:
        for item in pipe:
            if item is sse.KEEPALIVE:
                yield item
                continue
            parts.append(item)
            yield piece(item)
    except ModelError as exc:
        yield error_event(exc)
        return None
    except Exception as exc:  # a bug must still end the stream with an error event
        log.exception("An insight stream failed", exc_info=exc)
        yield error_event(UNEXPECTED)
        return None
    finally:
        pipe.close()
    text = "".join(parts)
    if not text.strip():
        yield error_event(EMPTY_REPLY)
        return None
    return text


def release_connection() -> None:
    """End the read transaction so no database connection is held while the model works."""
    db.session.commit()


def error_event(exc: ModelError) -> events.Error:
    """The SSE ``error`` event for a failed generation: nothing was saved."""
    return events.Error(code=exc.code, message=f"{exc.message} Nothing was saved.")


def require_text(text: str) -> str:
    """Return a model answer, or raise MODEL_EMPTY_REPLY for a blank one."""
    if not text.strip():
        raise EMPTY_REPLY
    return text
