"""Chat turns, conversations and one-off prompts (``/api/v1/chat``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self

from flask import current_app
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from chatapp.rendering import render_markdown
from chatapp.schemas.common import (
    MAX_ID,
    NO_NUL,
    NOT_BLANK,
    Out,
    Strict,
    Timestamp,
    sse_documented,
)
from chatapp.schemas.files import AttachmentOut
from chatapp.schemas.retrieval import CollectionIds, GroundingInfo, Source
from chatapp.services.chat.leases import lapsed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chatapp.models import ChatMessage, ChatSession, UploadedFile
    from chatapp.services.chat.context import Summary
    from chatapp.services.chat.paths import Siblings
    from chatapp.services.chat.prepared import StoredReply


def _check_message_length(text: str) -> str:
    """Refuse blank messages and those over the configured maximum."""
    if not text.strip():
        raise PydanticCustomError("string_blank", "Message must not be blank")
    return _check_length(text)


def _check_length(text: str) -> str:
    """Refuse a message over the configured maximum."""
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
# The text of a turn that may carry attachments: empty or blank only when it does (checked
# by :func:`text_unless_attached`, as ``string_too_short`` / ``string_blank``).
TurnText = Annotated[
    str,
    Field(
        description="Not blank unless attachments are given; at most CHAT_MAX_MESSAGE_CHARS "
        "characters (32,000 by default)",
    ),
    AfterValidator(_check_length),
]
# Files uploaded with POST /api/v1/files, attached to the turn's message in this order.
Attachments = Annotated[
    list[Annotated[str, Field(max_length=64, pattern=NO_NUL)]],
    Field(
        max_length=100,
        description="Ids of uploaded files (POST /api/v1/files) sent with the message; "
        "at most FILES_PER_MESSAGE (413 past it); each file is attached once (409)",
    ),
]


def blank_only_with_files(field: str) -> dict[str, Any]:
    """The OpenAPI statement of :func:`text_unless_attached`: a body has attachments, or
    its text ``field`` is not blank."""
    with_files = {"required": ["attachments"], "properties": {"attachments": {"minItems": 1}}}
    with_text = {"properties": {field: {"minLength": 1, "pattern": NOT_BLANK}}}
    return {"anyOf": [with_files, with_text]}


def text_unless_attached(text: str, info: ValidationInfo) -> str:
    """Refuse an empty or blank text unless attachments came with it."""
    if info.data.get("attachments"):
        return text
    if not text:
        raise PydanticCustomError(
            "string_too_short", "String should have at least 1 character", {"min_length": 1}
        )
    if not text.strip():
        raise PydanticCustomError("string_blank", "Message must not be blank")
    return text


# A conversation id in a body: a UUID, so a typo is a 400 naming the field, not a 404.
SessionId = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")]


class MessageIn(Strict):
    """A user's message; omitting ``sessionId`` starts a new conversation.

    ``message`` may be empty when ``attachments`` are given.
    """

    model_config = ConfigDict(json_schema_extra=blank_only_with_files("message"))

    # Declared first: the message's check reads it.
    attachments: Attachments = Field(default_factory=list)
    message: TurnText
    sessionId: SessionId | None = None
    personalityId: str | None = Field(None, max_length=64, pattern=NO_NUL)
    collectionIds: CollectionIds | None = None
    webSearch: bool | None = None

    _message_given = field_validator("message")(text_unless_attached)


class GroundingFields(Out):
    """What a stored reply was grounded on: its numbered sources and how it was grounded.

    Keys a source or the grounding does not have are left out, as they are stored.
    """

    sources: list[Source] = Field(default_factory=list)
    grounding: GroundingInfo | None = None

    @field_serializer("sources", "grounding")
    def _without_nulls(self, value: Any) -> Any:
        """Leave out the optional keys that are not set."""
        if isinstance(value, list):
            return [item.model_dump(mode="json", exclude_none=True) for item in value]
        return value.model_dump(mode="json", exclude_none=True) if value else None


class MessageOut(GroundingFields):
    """The stored reply to a message (seed 003's shape, plus the model, title, sources).

    ``omittedAttachments``: the conversation's files the model did not see for this reply
    (the oldest give way first when the history is over ``CHAT_CONTEXT_TOKENS``).
    """

    sessionId: str
    messageId: int
    response: str
    timestamp: Timestamp
    model: str
    title: str | None
    omittedAttachments: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, reply: StoredReply) -> MessageOut:
        """A reply as it was stored (read before its commit: no database read)."""
        return cls(
            sessionId=str(reply.session_id),
            messageId=reply.message_id,
            response=reply.content,
            timestamp=reply.created_at,
            model=reply.model,
            title=reply.title,
            sources=reply.sources or [],
            grounding=reply.grounding,
            omittedAttachments=reply.omitted_attachments or [],
        )


class StreamEvent(BaseModel):
    """One ``data:`` event of a reply stream (``text/event-stream``).

    ``start`` {sessionId, model}; ``content`` {content}; ``end`` {messageId, model, status,
    title, content, sources, grounding, omittedAttachments, stopped?}; ``error`` {code,
    message}. ``end``'s ``content`` is the stored reply (citation markers cleaned, web
    markers added). Comment lines (``: keep-alive``) may come between events.
    """

    model_config = sse_documented("StreamEvent")

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
    sources: list[Source] | None = None
    grounding: GroundingInfo | None = None
    omittedAttachments: list[str] | None = None


class StopOut(Out):
    """Whether a reply in progress was asked to stop."""

    sessionId: str
    stopped: bool


class MessageItem(GroundingFields):
    """A stored message. ``role`` is ``user`` or ``assistant``; ``html`` is sanitised
    (citations ``[n]`` link to ``#source-<id>-<n>``). ``attachments``: a user message's
    files; ``omittedAttachments``: on a reply, the files its turn left out."""

    # Role names as /api/v1 shows them (seed 003); seed 001's paths say "model".
    ROLES: ClassVar[dict[str, str]] = {"user": "user", "model": "assistant"}

    id: int
    role: Literal["user", "assistant"]
    content: str
    html: str
    timestamp: Timestamp
    status: Literal["complete", "failed", "interrupted"]
    error_code: str | None
    model: str | None
    parentId: int | None = Field(description="The message before this one (null: a first one)")
    siblingIndex: int = Field(description="Which version this is: 0-based, oldest first")
    siblingCount: int = Field(description="How many versions there are (edits, regenerations)")
    siblingIds: list[int] = Field(
        description="The ids of the versions, oldest first (what /switch takes to show one)"
    )
    attachments: list[AttachmentOut] = Field(default_factory=list)
    omittedAttachments: list[str] = Field(default_factory=list)

    @classmethod
    def of(
        cls, message: ChatMessage, place: Siblings, attachments: Sequence[UploadedFile] = ()
    ) -> Self:
        """A message with its content rendered as sanitised HTML, its place among its
        siblings and its ``attachments``."""
        sources = message.sources or []
        return cls.from_object(
            message,
            role=cls.ROLES[message.role],
            html=render_markdown(message.content, len(sources), f"source-{message.id}"),
            timestamp=message.created_at,
            sources=sources,
            parentId=message.parent_id,
            siblingIndex=place.index,
            siblingCount=place.count,
            siblingIds=list(place.ids) or [message.id],
            attachments=[AttachmentOut.of(file) for file in attachments],
            omittedAttachments=message.omitted_attachments or [],
        )

    @classmethod
    def page(
        cls,
        messages: list[tuple[ChatMessage, Siblings]],
        attached: dict[int, list[UploadedFile]] | None = None,
    ) -> list[Self]:
        """Messages, each with its place among its siblings and its files (by message id)."""
        files = attached or {}
        return [cls.of(message, place, files.get(message.id, ())) for message, place in messages]


class SessionOut(Out):
    """A conversation."""

    id: str
    user_id: int
    title: str | None
    created_at: Timestamp
    updated_at: Timestamp
    message_count: int
    generating: bool = Field(description="A reply is being written right now")
    collectionIds: list[str] = Field(description="Collections searched on each turn")
    webSearch: bool = Field(description="Google Search grounding is on")
    archived: bool = Field(description="Archived: readable, but closed to new messages (410)")

    @classmethod
    def of(cls, session: ChatSession, **extra: object) -> SessionOut:
        """A conversation (seed 003's shape), plus the ``extra`` fields of a subclass."""
        return cls.from_object(
            session,
            id=str(session.id),
            generating=session.turn_id is not None and not lapsed(session),
            collectionIds=list(session.collection_ids or []),
            webSearch=bool(session.web_search),
            archived=bool(session.archived),
            **extra,
        )


class SessionSummary(SessionOut):
    """A conversation in a list, with the text of its newest message."""

    last_message: str | None


class SessionList(Out):
    """One page of conversations, newest first."""

    sessions: list[SessionSummary]
    total: int

    @classmethod
    def of(cls, rows: list[tuple[ChatSession, str | None]], total: int) -> SessionList:
        """A page of (conversation, text of its newest message) rows."""
        sessions = [SessionSummary.of(session, last_message=text) for session, text in rows]
        return cls(sessions=sessions, total=total)


class SummaryOut(Out):
    """The summary sent ahead of the kept turns: it stands for every message of the active
    path up to and including ``throughMessageId``."""

    content: str
    throughMessageId: int
    createdAt: Timestamp

    @classmethod
    def of(cls, summary: Summary | None) -> SummaryOut | None:
        """A stored summary, or None."""
        if summary is None or summary.created_at is None:
            return None
        return cls(
            content=summary.content,
            throughMessageId=summary.through,
            createdAt=summary.created_at,
        )


class SessionDetail(SessionOut):
    """A conversation with one page of its messages (oldest first)."""

    messages: list[MessageItem]
    has_more: bool = Field(description="Older messages exist: pass before=<first id>")
    summary: SummaryOut | None = Field(
        None,
        description="The summary of older turns the next turn on the active path sends "
        "(null while the path fits CHAT_CONTEXT_TOKENS, or with CHAT_SUMMARIES off)",
    )


class SessionPath(BaseModel):
    """A conversation id in the path."""

    session_id: str


class SessionQuery(BaseModel):
    """Paging and filtering of the conversation list."""

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_ID)
    q: str | None = Field(None, max_length=200, pattern=NO_NUL, description="Filter by title")
    archived: bool = Field(False, description="List the archived conversations instead")


class MessagesQuery(BaseModel):
    """Paging of a long conversation: messages older than ``before``."""

    before: int | None = Field(None, ge=1, le=MAX_ID)
    limit: int = Field(50, ge=1, le=200)


class TitleIn(Strict):
    """A new title."""

    title: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK)


class TitleOut(Out):
    """A renamed conversation."""

    id: str
    title: str
    updated_at: Timestamp

    @classmethod
    def of(cls, session: ChatSession) -> TitleOut:
        """The conversation's new title."""
        return cls(id=str(session.id), title=session.title, updated_at=session.updated_at)


class GroundingIn(Strict):
    """A conversation's settings: its collections, whether web search is on, and whether
    it is archived (closed to new messages)."""

    collectionIds: CollectionIds | None = None
    webSearch: bool | None = None
    archived: bool | None = None
