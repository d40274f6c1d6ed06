"""The events of a chat reply stream (``POST /api/v1/chat/message/stream``), seed 003's.

Names and keys are exactly what clients read; ``docs/streaming.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatapp.sse import Event, Failure, Piece, optional


@dataclass(frozen=True)
class Start(Event):
    """The turn began: the conversation (new or not) and the model answering."""

    type = "start"
    sessionId: str
    model: str


@dataclass(frozen=True)
class Content(Piece):
    """One piece of the reply, as the model sent it."""

    type = "content"


@dataclass(frozen=True)
class End(Event):
    """The reply is stored (``stopped`` only when a stop ended it).

    ``content`` is the stored reply (citation markers cleaned, web markers added), with
    its ``sources`` and ``grounding``; ``omittedAttachments`` the ids of the conversation's
    files its turn left out (``[]`` when none).
    """

    type = "end"
    messageId: int
    model: str | None
    status: str
    title: str | None
    content: str
    sources: list[dict[str, Any]]
    grounding: dict[str, Any] | None
    omittedAttachments: list[str] = field(default_factory=list)
    stopped: bool | None = optional()


@dataclass(frozen=True)
class Error(Failure):
    """The model failed; the reply so far (if any) is stored as interrupted."""
