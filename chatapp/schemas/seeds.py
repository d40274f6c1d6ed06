"""Seeds 000 and 002's routes under ``/api``, in those systems' own shapes.

Both seeds use ``POST /api/sessions`` and ``POST /api/chat``: one route serves both, telling
the seeds apart by the body. Seed 002's session ids are UUIDs (a malformed one is a 400);
seed 000's are opaque (a malformed one is simply not found).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from chatapp.ids import parse_id
from chatapp.schemas.chat import MessageText, SessionId
from chatapp.schemas.common import MAX_ID, NO_NUL, NOT_BLANK, JsonInt, Out, Strict, Timestamp
from chatapp.schemas.prompts import PromptOut
from chatapp.schemas.retrieval import CollectionIds

if TYPE_CHECKING:
    import uuid

    from chatapp.models import ChatMessage, ChatSession
    from chatapp.services.chat.prepared import StoredReply

# Seed 000's user: the caller's username or id.
UserName = Annotated[str, Field(max_length=200, pattern=NO_NUL)] | JsonInt


# --- both seeds ------------------------------------------------------------------------------


class SeedSessionIn(Strict):
    """A new conversation: seed 002 sends ``{}`` (or no body), seed 000 ``{"user_id", "title"}``.

    ``user_id``, when given, must name the caller (username or id); anyone else's is a 404.
    """

    model_config = ConfigDict(openapi_extra={"required": False})  # type: ignore[typeddict-unknown-key]

    user_id: UserName | None = None
    title: str | None = Field(None, min_length=1, max_length=200, pattern=NOT_BLANK)

    @model_validator(mode="before")
    @classmethod
    def _no_body(cls, data: Any) -> Any:
        """Take a request without a body (``curl -X POST``) as ``{}``."""
        return {} if data is None else data


class SeedSessionOut(Out):
    """A new conversation, with seed 002's fields and seed 000's ``session_id``."""

    sessionId: str
    createdAt: Timestamp
    session_id: str

    @classmethod
    def of(cls, session: ChatSession) -> SeedSessionOut:
        """The conversation just created."""
        key = str(session.id)
        return cls(sessionId=key, createdAt=session.created_at, session_id=key)


def _given(*names: str) -> dict[str, Any]:
    """JSON Schema for: each of ``names`` is present and not null."""
    return {"required": list(names), "properties": {key: {"type": "string"} for key in names}}


class SeedChatIn(Strict):
    """``POST /api/chat``: seed 000's ``{"prompt"}`` (optionally grounded with
    ``collectionIds``/``webSearch``) or seed 002's ``{"sessionId", "message"}``."""

    # Which fields go together (null is the same as absent); :meth:`problems` checks it.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {**_given("prompt"), "not": {"anyOf": [_given("message"), _given("sessionId")]}},
                {**_given("sessionId", "message"), "not": _given("prompt")},
            ]
        }
    )

    prompt: MessageText | None = None
    sessionId: SessionId | None = None
    message: MessageText | None = None
    collectionIds: CollectionIds | None = None
    webSearch: bool | None = None

    def problems(self) -> list[dict[str, str]]:
        """The fields that make this neither seed's request, as validation ``details``."""
        if self.prompt is not None and self.message is not None:
            text = "Send either prompt (seed 000) or message (seed 002), not both"
            return [
                {"field": name, "message": text, "code": "conflict"}
                for name in ("prompt", "message")
            ]
        if self.prompt is not None:
            if self.sessionId is None:
                return []
            text = "A one-off prompt has no session: send message with sessionId instead"
            return [{"field": "sessionId", "message": text, "code": "conflict"}]
        required = [name for name in ("sessionId", "message") if getattr(self, name) is None]
        return [
            {
                "field": name,
                "message": f"{name[0].upper()}{name[1:]} is required",
                "code": "missing",
            }
            for name in required
        ]


class SeedReplyOut(Out):
    """Seed 002's reply: the stored answer."""

    message: str
    messageId: str
    timestamp: Timestamp

    @classmethod
    def of(cls, reply: StoredReply) -> SeedReplyOut:
        """The stored reply."""
        return cls(
            message=reply.content, messageId=str(reply.message_id), timestamp=reply.created_at
        )


class SeedChatOut(RootModel[PromptOut | SeedReplyOut]):
    """``POST /api/chat``'s answer: seed 000's ``{"text", "sources"}`` to a prompt, seed
    002's ``{"message", "messageId", "timestamp"}`` to a message."""


# --- seed 000 --------------------------------------------------------------------------------


class SeedMessageIn(Strict):
    """Seed 000's message to a conversation."""

    content: MessageText


class SeedMessage(Out):
    """Seed 000's message: role ``user`` or ``model`` (Gemini's names, as on seed 001)."""

    role: Literal["user", "model"]
    content: str
    timestamp: Timestamp

    @classmethod
    def of(cls, message: ChatMessage) -> SeedMessage:
        """A stored message."""
        return cls(role=message.role, content=message.content, timestamp=message.created_at)

    @classmethod
    def of_reply(cls, reply: StoredReply) -> SeedMessage:
        """The reply a turn just stored."""
        return cls(role="model", content=reply.content, timestamp=reply.created_at)


class SeedMessages(RootModel[list[SeedMessage]]):
    """Seed 000's messages of a conversation, oldest first."""

    @classmethod
    def of(cls, messages: list[ChatMessage]) -> list[dict[str, Any]]:
        """The messages as JSON-ready data."""
        return cls([SeedMessage.of(message) for message in messages]).model_dump(mode="json")


class SeedMessageSent(Out):
    """Seed 000's confirmation, with the reply the model gave (stored too)."""

    message: Literal["Message sent."] = "Message sent."
    reply: SeedMessage


class SeedUserSession(Out):
    """Seed 000's conversation with all its messages."""

    session_id: str
    user_id: str
    title: str | None
    created_at: Timestamp
    messages: list[SeedMessage]

    @classmethod
    def of(cls, session: ChatSession, messages: list[ChatMessage], user_id: str) -> SeedUserSession:
        """A conversation of the user named ``user_id``, with its active path's messages."""
        return cls(
            session_id=str(session.id),
            user_id=user_id,
            title=session.title,
            created_at=session.created_at,
            messages=[SeedMessage.of(message) for message in messages],
        )


class SeedUserSessions(RootModel[list[SeedUserSession]]):
    """Seed 000's list of a user's conversations, newest first."""

    @classmethod
    def of(
        cls, sessions: list[tuple[ChatSession, list[ChatMessage]]], user_id: str
    ) -> list[dict[str, Any]]:
        """The conversations (each with its active path) as JSON-ready data."""
        items = [SeedUserSession.of(session, path, user_id) for session, path in sessions]
        return cls(items).model_dump(mode="json")


# --- seed 002 --------------------------------------------------------------------------------


class SeedSessionPath(BaseModel):
    """Seed 002's conversation in the path: a UUID, or a 400."""

    sessionId: SessionId


class SeedHistoryMessage(Out):
    """Seed 002's message; ``sender`` is ``user`` or ``assistant``."""

    messageId: str
    content: str
    sender: Literal["user", "assistant"]
    timestamp: Timestamp

    @classmethod
    def of(cls, message: ChatMessage) -> SeedHistoryMessage:
        """A stored message."""
        return cls(
            messageId=str(message.id),
            content=message.content,
            sender="user" if message.role == "user" else "assistant",
            timestamp=message.created_at,
        )


class SeedHistory(Out):
    """Seed 002's history of a conversation, oldest first."""

    sessionId: str
    messages: list[SeedHistoryMessage]

    @classmethod
    def of(cls, session: ChatSession, messages: list[ChatMessage]) -> SeedHistory:
        """The conversation's messages."""
        items = [SeedHistoryMessage.of(message) for message in messages]
        return cls(sessionId=str(session.id), messages=items)


class ArchivedQuery(BaseModel):
    """Seed 002's previous sessions: which ids (comma-separated; malformed ones are
    skipped), and one page of them."""

    sessionIds: str | None = Field(None, max_length=4000, pattern=NO_NUL)
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_ID)

    def ids(self) -> list[uuid.UUID]:
        """The well-formed ids asked for."""
        parsed = (parse_id(part.strip()) for part in (self.sessionIds or "").split(","))
        return [key for key in parsed if key is not None]


class ArchivedSession(Out):
    """Seed 002's saved (reset) session."""

    sessionId: str
    title: str | None
    createdAt: Timestamp

    @classmethod
    def of(cls, session: ChatSession) -> ArchivedSession:
        """An archived conversation."""
        return cls(sessionId=str(session.id), title=session.title, createdAt=session.created_at)


class ArchivedList(Out):
    """Seed 002's page of saved sessions and how many there are in all."""

    sessions: list[ArchivedSession]
    total: int

    @classmethod
    def of(cls, sessions: list[ChatSession], total: int) -> ArchivedList:
        """A page of archived conversations."""
        return cls(sessions=[ArchivedSession.of(session) for session in sessions], total=total)
