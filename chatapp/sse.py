"""Server-sent events: the one machinery behind every streaming endpoint.

A stream is a generator of typed events (:class:`Event` dataclasses, sent as
``data: <json>``) and :data:`KEEPALIVE` (sent as a comment line), run in the request's
thread, so it has the request's app context and database session. It reads a blocking
source (the model's reply) through a :class:`Pipe`, which runs the source in a thread of
its own and hands over its items. That keeps the request thread free to send keep-alive
comments while the model is silent and to react at once to an interruption (a stop) that
arrives from elsewhere, without waiting for the model's next chunk.

This module is the only place that turns events into frames. Every stream's vocabulary is
listed in ``docs/streaming.md``.

When the client disconnects, the server closes the response; the event generator then gets
``GeneratorExit`` at the ``yield`` where it waits, and cleans up (stores what it has).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from flask import Response, current_app, stream_with_context
from pydantic import BaseModel

log = logging.getLogger(__name__)
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# Field metadata: the key is left out of the event while its value is None.
_OMIT_IF_NONE = {"omit_if_none": True}


def optional() -> Any:
    """A field of an :class:`Event` that is sent only when it has a value."""
    return dataclasses.field(default=None, metadata=_OMIT_IF_NONE)


@dataclasses.dataclass(frozen=True)
class Event:
    """One ``data:`` event: ``{"type": <type>, <field>: <value>, ...}`` in field order.

    Subclasses are dataclasses that set ``type`` and declare the event's keys as fields,
    named exactly as on the wire. Values are JSON-able, or pydantic models (sent as JSON).
    """

    type: ClassVar[str]


@dataclasses.dataclass(frozen=True)
class Piece(Event):
    """One piece of the model's text as it arrived; each stream names the type."""

    content: str


@dataclasses.dataclass(frozen=True)
class Failure(Event):
    """The model failed: a stable ``code`` (the API's model error codes) and what to do."""

    type = "error"
    code: str
    message: str


class KeepAlive:
    """The keep-alive sentinel: sent as a comment line, so proxies keep the connection."""

    frame = ": keep-alive\n\n"

    def __repr__(self) -> str:
        return "KEEPALIVE"


#: Yielded when nothing else was sent for a while (see :func:`keepalive_seconds`).
KEEPALIVE = KeepAlive()
#: What a stream generator yields.
Item = Event | KeepAlive


class Interrupted(Exception):
    """The stream was interrupted from outside (``reason``: for example ``"stopped"``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _End:
    """The source is exhausted."""


class _Failure:
    """The source raised ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Pipe:
    """Run a blocking iterable in a thread; iterate its items here, with keep-alives.

    Iterating a pipe yields the source's items, :data:`KEEPALIVE` after ``keepalive``
    seconds of silence, re-raises the source's exception, and raises :class:`Interrupted`
    as soon as :meth:`interrupt` is called from any thread. :meth:`close` tells the source's
    thread to stop; it closes the source (in its own thread, which the SDK requires) when
    the source's next item arrives.
    """

    def __init__(self, source: Iterable[Any], keepalive: float) -> None:
        self._source = source
        self._keepalive = keepalive
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name="sse-pipe", daemon=True)
        self._thread.start()

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                item = self._queue.get(timeout=self._keepalive)
            except queue.Empty:
                yield KEEPALIVE
                continue
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.exc
            if isinstance(item, Interrupted):
                raise item
            yield item

    def interrupt(self, reason: str) -> None:
        """Make the reader raise :class:`Interrupted` now (safe from any thread)."""
        self._queue.put(Interrupted(reason))

    def close(self) -> None:
        """Stop reading the source; it is closed in its own thread."""
        self._closed.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the source's thread to finish; return whether it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _read(self) -> None:
        """Move the source's items to the queue until it ends, fails, or we are closed."""
        iterator = iter(self._source)
        try:
            for item in iterator:
                if self._closed.is_set():
                    break
                self._queue.put(item)
        except BaseException as exc:  # handed to the reader, who decides
            self._queue.put(_Failure(exc))
        else:
            self._queue.put(_End())
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()


def payload(event: Event) -> dict[str, Any]:
    """The JSON object an event is sent as: its type, then its fields in order."""
    body: dict[str, Any] = {"type": event.type}
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if value is None and field.metadata.get("omit_if_none"):
            continue
        # Response models inside an event (an insight, ``based_on``) are sent as JSON.
        body[field.name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return body


def encode(event: Item) -> str:
    """Encode one event as an SSE frame: ``data: <json>``, or the keep-alive comment."""
    if isinstance(event, KeepAlive):
        return event.frame
    body = json.dumps(payload(event), separators=(",", ":"), default=str)
    return f"data: {body}\n\n"


def event_response(events: Iterator[Item]) -> Response:
    """Send ``events`` as a ``text/event-stream`` response, in the request's context."""
    frames = (encode(event) for event in events)
    return Response(
        stream_with_context(_closing(frames, events)),
        mimetype="text/event-stream",
        headers=HEADERS,
    )


def _closing(frames: Iterator[str], events: Iterator[Any]) -> Iterator[str]:
    """Yield ``frames``; when the client goes away, close the event generator."""
    try:
        yield from frames
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


def keepalive_seconds() -> float:
    """How long a stream may stay silent before a keep-alive comment is sent."""
    return float(current_app.config["STREAM_KEEPALIVE"])
