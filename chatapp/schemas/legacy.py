"""Seed 001's routes (``/chat``, ``/history``), in that system's own shapes."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from chatapp.schemas.chat import MessageItem, MessageText, SessionId
from chatapp.schemas.common import NO_NUL, JsonInt, Out, Strict


class LegacyChatIn(Strict):
    """Seed 001's message: ``user_id`` is the caller's username or id."""

    user_id: Annotated[str, Field(pattern=NO_NUL)] | JsonInt
    message: MessageText
    chat_id: SessionId | None = None


class LegacyChatOut(Out):
    """Seed 001's reply."""

    response: str
    chat_id: str


class LegacyUserPath(BaseModel):
    """Seed 001's user in the path."""

    user_id: str


class LegacyChatPath(LegacyUserPath):
    """Seed 001's conversation in the path."""

    chat_id: str


class LegacySessions(Out):
    """Seed 001's list of conversation ids."""

    chat_sessions: list[str]


class LegacyTurn(MessageItem):
    """Seed 001's message: role ``user`` or ``model``, with the fields of every message."""

    ROLES: ClassVar[dict[str, str]] = {"user": "user", "model": "model"}

    role: Literal["user", "model"]  # type: ignore[assignment]


class LegacyHistory(Out):
    """Seed 001's conversation history."""

    history: list[LegacyTurn]
