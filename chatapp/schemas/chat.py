"""Chat turns, conversations and one-off prompts (``/api/v1/chat``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import current_app
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from chatapp.schemas.common import MAX_ID, NO_NUL, NOT_BLANK, Strict


def _check_message_length(text: str) -> str:
    """Refuse blank messages and those over the configured maximum."""
    if not text.strip():
        raise PydanticCustomError("string_blank", "Message must not be blank")
    limit = current_app.config["CHAT_MAX_MESSAGE_CHARS"]
    if len(text) > limit:
        raise PydanticCustomError(
            "string_too_long", "Message is longer than {limit} characters", {"limit": limit}
        )
    return text


# Blank is checked by the validator (code ``string_blank``), NUL by chatapp.inputs; the
# pattern tells the OpenAPI document the same.
MessageText = Annotated[
    str,
    Field(
        min_length=1,
        description="Not blank; at most CHAT_MAX_MESSAGE_CHARS characters (32,000 by default)",
        json_schema_extra={"pattern": NOT_BLANK},
    ),
    AfterValidator(_check_message_length),
]
# A conversation id in a body: a UUID, so a typo is a 400 naming the field, not a 404.
SessionId = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")]


class MessageIn(Strict):
    """A user's message; omitting ``sessionId`` starts a new conversation."""

    message: MessageText
    sessionId: SessionId | None = None
    personalityId: str | None = Field(None, max_length=64, pattern=NO_NUL)


class MessageOut(BaseModel):
    """The stored reply to a message (seed 003's shape, plus the model and title)."""

    sessionId: str
    messageId: int
    response: str
    timestamp: datetime
    model: str
    title: str | None


class StreamEvent(BaseModel):
    """One ``data:`` event of a reply stream (``text/event-stream``).

    ``start`` {sessionId, model}; ``content`` {content}; ``end`` {messageId, model, status,
    title, stopped?}; ``error`` {code, message}. Comment lines (``: keep-alive``) may come
    between events.
    """

    type: Literal["start", "content", "end", "error"]
    sessionId: str | None = None
    content: str | None = None
    messageId: int | None = None
    model: str | None = None
    status: str | None = None
    title: str | None = None
    stopped: bool | None = None
    code: str | None = None
    message: str | None = None


class StopOut(BaseModel):
    """Whether a reply in progress was asked to stop."""

    sessionId: str
    stopped: bool


class MessageItem(BaseModel):
    """A stored message. ``role`` is ``user`` or ``assistant``; ``html`` is sanitised."""

    id: int
    role: Literal["user", "assistant"]
    content: str
    html: str
    timestamp: datetime
    status: Literal["complete", "failed", "interrupted"]
    error_code: str | None
    model: str | None


class SessionOut(BaseModel):
    """A conversation."""

    id: str
    user_id: int
    title: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int
    generating: bool = Field(description="A reply is being written right now")


class SessionSummary(SessionOut):
    """A conversation in a list, with the text of its newest message."""

    last_message: str | None


class SessionList(BaseModel):
    """One page of conversations, newest first."""

    sessions: list[SessionSummary]
    total: int


class SessionDetail(SessionOut):
    """A conversation with one page of its messages (oldest first)."""

    messages: list[MessageItem]
    has_more: bool = Field(description="Older messages exist: pass before=<first id>")


class SessionPath(BaseModel):
    """A conversation id in the path."""

    session_id: str


class SessionQuery(BaseModel):
    """Paging and filtering of the conversation list."""

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_ID)
    q: str | None = Field(None, max_length=200, pattern=NO_NUL, description="Filter by title")


class MessagesQuery(BaseModel):
    """Paging of a long conversation: messages older than ``before``."""

    before: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=200)


class TitleIn(Strict):
    """A new title."""

    title: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


class TitleOut(BaseModel):
    """A renamed conversation."""

    id: str
    title: str
    updated_at: datetime


class PromptIn(Strict):
    """A one-off prompt (seed 000)."""

    prompt: MessageText


class PromptOut(BaseModel):
    """A one-off answer; ``sources`` is empty until grounding exists."""

    text: str
    sources: list[dict[str, str]]
    model: str
