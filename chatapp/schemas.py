"""Request and response bodies, declared once.

The same pydantic models validate requests (through flask-openapi3) and generate the
OpenAPI document served at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from flask import current_app
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """A request body: unknown fields are rejected, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    """One field that failed validation."""

    field: str
    message: str
    code: str


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: str = Field(description="Short title")
    message: str = Field(description="What to do about it")
    code: str = Field(description="Stable machine-readable code")
    details: list[ErrorDetail] | None = None


def errors(*statuses: int) -> dict[int, type[BaseModel]]:
    """Return the ``responses`` entries for the given error statuses."""
    return dict.fromkeys(statuses, ErrorBody)


# Errors every authenticated route can return.
AUTHED_ERRORS = errors(401, 403, 429, 500)
# ...and those with a JSON body.
BODY_ERRORS = errors(400, 401, 403, 413, 429, 500)


class Health(BaseModel):
    """Service health."""

    status: Literal["ok", "degraded", "error"]
    timestamp: datetime
    database: Literal["ok", "error"]
    redis: Literal["ok", "error"] | None = None  # only when REDIS_URL is set


class UserOut(BaseModel):
    """An account, without secrets."""

    id: int
    username: str
    email: str
    is_admin: bool
    created_at: datetime
    timezone: str = Field(description="IANA time zone; weeks for insights follow it")


class TokenCreate(Strict):
    """Create a token: a logged-in browser needs only a name; a script sends its password."""

    name: str = Field("token", min_length=1, max_length=100)
    username: str | None = Field(None, min_length=1, max_length=255)
    password: str | None = Field(None, min_length=1, max_length=1024)


class TokenOut(BaseModel):
    """A token's metadata (never the secret)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(BaseModel):
    """A new token; ``token`` is shown this once and never again."""

    id: int
    name: str
    token: str


class TokenList(BaseModel):
    """The caller's live tokens, newest first."""

    tokens: list[TokenOut]
    total: int


class TokenPath(BaseModel):
    """A token id in the path."""

    token_id: int


class Deleted(BaseModel):
    """Confirmation of a deletion."""

    message: str
    id: int | str


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


MessageText = Annotated[str, Field(min_length=1), AfterValidator(_check_message_length)]
# A conversation id in a body: a UUID, so a typo is a 400 naming the field, not a 404.
SessionId = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")]


class MessageIn(Strict):
    """A user's message; omitting ``sessionId`` starts a new conversation."""

    message: MessageText
    sessionId: SessionId | None = None
    personalityId: str | None = Field(None, max_length=64)


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
    offset: int = Field(0, ge=0)
    q: str | None = Field(None, max_length=200, description="Filter by title")


class MessagesQuery(BaseModel):
    """Paging of a long conversation: messages older than ``before``."""

    before: int | None = Field(None, ge=1)
    limit: int = Field(50, ge=1, le=200)


class TitleIn(Strict):
    """A new title."""

    title: str = Field(min_length=1, max_length=200, pattern=r"\S")


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


class LegacyChatIn(Strict):
    """Seed 001's message: ``user_id`` is the caller's username or id."""

    user_id: str | int
    message: MessageText
    chat_id: SessionId | None = None


class LegacyChatOut(BaseModel):
    """Seed 001's reply."""

    response: str
    chat_id: str


class LegacyUserPath(BaseModel):
    """Seed 001's user in the path."""

    user_id: str


class LegacyChatPath(LegacyUserPath):
    """Seed 001's conversation in the path."""

    chat_id: str


class LegacySessions(BaseModel):
    """Seed 001's list of conversation ids."""

    chat_sessions: list[str]


class LegacyTurn(MessageItem):
    """Seed 001's message: role ``user`` or ``model``, with the fields of every message."""

    role: Literal["user", "model"]  # type: ignore[assignment]


class LegacyHistory(BaseModel):
    """Seed 001's conversation history."""

    history: list[LegacyTurn]


# --- personalities, time zone, insights (issue 7) -----------------------------------------


@cache
def _timezone_names() -> frozenset[str]:
    """The IANA zone names this system knows (read from disk once)."""
    return frozenset(available_timezones())


def _check_timezone(name: str) -> str:
    """Accept only IANA time zone names (``Europe/Berlin``, ``UTC``)."""
    if name not in _timezone_names():
        raise PydanticCustomError(
            "timezone", "Unknown time zone; use an IANA name such as Europe/Berlin"
        )
    return name


class MeUpdate(Strict):
    """Settings of the caller's account."""

    timezone: Annotated[str, Field(max_length=64), AfterValidator(_check_timezone)]


PersonalityName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
SystemPrompt = Annotated[str, Field(min_length=1, max_length=8000, pattern=r"\S")]


class PersonalityIn(Strict):
    """A new personality of the caller's own."""

    name: PersonalityName
    system_prompt: SystemPrompt


class PersonalityUpdate(Strict):
    """Changes to one of the caller's personalities (at least one field)."""

    name: PersonalityName | None = None
    system_prompt: SystemPrompt | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> PersonalityUpdate:
        """Refuse an update that changes nothing."""
        if self.name is None and self.system_prompt is None:
            raise PydanticCustomError("missing", "Send name and/or system_prompt")
        return self


class PersonalityOut(BaseModel):
    """A personality; ``builtin`` ones are shared and read-only."""

    id: str
    name: str
    system_prompt: str
    builtin: bool
    created_at: datetime


class PersonalityList(BaseModel):
    """The built-in personalities, then the caller's own."""

    personalities: list[PersonalityOut]
    total: int


class PersonalityPath(BaseModel):
    """A personality id in the path."""

    personality_id: str = Field(max_length=64)


class BasedOn(BaseModel):
    """What an insight read."""

    conversations_analyzed: int = Field(description="Conversations the user wrote in")
    messages_analyzed: int = Field(description="The user's messages sent to the model")
    messages_total: int = Field(description="The user's messages in the period")
    time_period: Literal["last_30_days"]


class InsightsOut(BaseModel):
    """An insight over the last 30 days; ``insights`` is null with a message when there was
    nothing to read."""

    insights: str | None
    generated_at: datetime
    based_on: BasedOn
    model: str | None
    message: str | None = None


class SuggestedPrompt(BaseModel):
    """A suggested opening message."""

    id: str
    text: str
    category: str


class PromptList(BaseModel):
    """Suggested prompts; ``source`` says whether the model wrote them."""

    prompts: list[SuggestedPrompt]
    total: int
    source: Literal["model", "default"]


class WeeklyInsightOut(BaseModel):
    """A stored weekly insight. ``entry_count`` counts the conversations the user wrote in
    that week; ``html`` is the content rendered and sanitised."""

    id: int
    user_id: int
    week_start: datetime
    week_end: datetime
    content: str
    html: str
    entry_count: int
    model: str | None
    created_at: datetime
    updated_at: datetime


class WeeklyInsightList(RootModel[list[WeeklyInsightOut]]):
    """The caller's weekly insights, newest week first."""


class CurrentWeekOut(BaseModel):
    """The current week's bounds and its insight, if generated."""

    insight: WeeklyInsightOut | None
    weekStart: datetime
    weekEnd: datetime


class GenerateIn(Strict):
    """Generate this week's insight; an existing one is returned unless forced."""

    forceRegenerate: bool = False


class GenerateOut(CurrentWeekOut):
    """The generated (or existing) insight; null with a message for a week without
    conversations."""

    isExisting: bool
    entryCount: int
    message: str | None = None


class WeeklyInsightPath(BaseModel):
    """A weekly insight id in the path."""

    insight_id: int


class Success(BaseModel):
    """Seed 003's confirmation of a deletion."""

    success: bool
    message: str


class UsageInfo(BaseModel):
    """The caller's insight rate limit after this request (nulls when none applies)."""

    allowed: bool
    remaining: int | None
    limit: int | None


class WeeklyStreamEvent(BaseModel):
    """One ``data:`` event of a weekly insight stream (``text/event-stream``).

    ``start`` {weekStart, weekEnd, entryCount, usageInfo, isExisting}; ``chunk`` {content};
    ``done`` {insight, message?} (insight null for a week without conversations);
    ``error`` {code, message, saved: false}. Comments (``: keep-alive``) may come between.
    """

    type: Literal["start", "chunk", "done", "error"]
    weekStart: datetime | None = None
    weekEnd: datetime | None = None
    entryCount: int | None = None
    usageInfo: UsageInfo | None = None
    isExisting: bool | None = None
    content: str | None = None
    insight: WeeklyInsightOut | None = None
    code: str | None = None
    message: str | None = None
    saved: bool | None = None


class InsightStreamEvent(BaseModel):
    """One ``data:`` event of the 30-day insight stream.

    ``start`` {based_on}; ``content`` {content}; ``end`` {generated_at, based_on, model} (or
    {insights: null, message, based_on} with nothing to read); ``error`` {code, message}.
    """

    type: Literal["start", "content", "end", "error"]
    based_on: BasedOn | None = None
    content: str | None = None
    generated_at: datetime | None = None
    model: str | None = None
    insights: None = None
    code: str | None = None
    message: str | None = None
