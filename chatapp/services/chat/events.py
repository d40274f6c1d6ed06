"""The events of a chat reply stream (``POST /api/v1/chat/message/stream``), seed 003's.

Names and keys are exactly what clients read; ``docs/streaming.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.sse import Event, optional


@dataclass(frozen=True)
class Start(Event):
    """The turn began: the conversation (new or not) and the model answering."""

    type = "start"
    sessionId: str
    model: str


@dataclass(frozen=True)
class Content(Event):
    """One piece of the reply, as the model sent it."""

    type = "content"
    content: str


@dataclass(frozen=True)
class End(Event):
    """The reply is stored (``stopped`` only when a stop ended it)."""

    type = "end"
    messageId: int
    model: str | None
    status: str
    title: str | None
    stopped: bool | None = optional()


@dataclass(frozen=True)
class Error(Event):
    """The model failed; ``code`` is one of the API's model error codes."""

    type = "error"
    code: str
    message: str
