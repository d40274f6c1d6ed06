"""Export and import: the export file's versioned format, and the import report.

The same models write an export (``model_dump``) and read one back on import
(``model_validate``): unknown keys are ignored and every field added after version 1 has a
default, so a newer field never breaks reading an older file (see docs/export-format.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from chatapp.schemas.common import MAX_ID, Out
from chatapp.schemas.retrieval import GroundingInfo, Source

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "ConversationExport",
    "ExportFile",
    "ExportQuery",
    "ExportedConversation",
    "ExportedMessage",
    "ExportedPersonality",
    "ImportOut",
    "ImportProblem",
]

#: The marker of a chatapp export, and the newest version this server writes and reads.
EXPORT_FORMAT = "chatapp.export"
EXPORT_VERSION = 1


def in_utc(value: datetime) -> datetime:
    """Refuse an instant that has no UTC equivalent (year 1 at +01:00, year 9999 at -01:00)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    return value


# An instant in an export file: ISO 8601 with its offset, read back exactly.
Instant = Annotated[
    AwareDatetime,
    AfterValidator(in_utc),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Lenient(BaseModel):
    """A part of an export file: keys this version does not know are ignored."""

    model_config = ConfigDict(extra="ignore")


class ExportedPersonality(Lenient):
    """The system prompt a conversation ran with, and the name of the personality that
    holds this prompt for the exporting user (None when none does any more)."""

    name: str | None = None
    systemPrompt: str


class ExportedMessage(Lenient):
    """One message, as stored."""

    role: Literal["user", "assistant"]
    content: str
    createdAt: Instant
    status: Literal["complete", "failed", "interrupted"] = "complete"
    errorCode: str | None = Field(None, max_length=40, description="Why a message failed")
    model: str | None = Field(None, max_length=100)
    sources: list[Source] = Field(default_factory=list)
    grounding: GroundingInfo | None = None
    promptTokens: int | None = Field(None, ge=0, le=MAX_ID)
    outputTokens: int | None = Field(None, ge=0, le=MAX_ID)
    parent: int | None = Field(
        None,
        ge=0,
        le=MAX_ID,
        description="The index in messages of the message before this one (null: a first "
        "message). Absent (older files): the message listed before it",
    )


class ExportedConversation(Lenient):
    """One conversation with all its messages, oldest first."""

    title: str | None = Field(None, max_length=200)
    titleSetByUser: bool = False
    createdAt: Instant
    updatedAt: Instant
    personality: ExportedPersonality | None = None
    webSearch: bool = False
    archived: bool = False  # read-only until unarchived (absent in older files: False)
    messages: list[ExportedMessage]
    activeMessage: int | None = Field(
        None,
        ge=0,
        le=MAX_ID,
        description="The index in messages of the message the active path runs through "
        "(below it: the newest child at each step); null or absent: from the first message",
    )

    @model_validator(mode="after")
    def _one_tree(self) -> Self:
        """Parents come before their children; the active message is one of the messages."""
        for number, parent in enumerate(self.parents()):
            if parent is not None and parent >= number:
                raise ValueError(f"messages.{number}.parent must be an earlier message's index")
        if self.activeMessage is not None and self.activeMessage >= len(self.messages):
            raise ValueError("activeMessage must be the index of a message")
        return self

    def parents(self) -> list[int | None]:
        """Each message's parent index: as given, or the message listed before it."""
        return [
            message.parent if "parent" in message.model_fields_set else _previous(number)
            for number, message in enumerate(self.messages)
        ]

    def linear(self) -> bool:
        """Whether the messages form one branch, each below the one listed before it."""
        return self.parents() == [_previous(number) for number in range(len(self.messages))]


def _previous(number: int) -> int | None:
    """The index of the message listed before message ``number`` (None for the first)."""
    return number - 1 if number else None


# The header of every export response: the browser saves it as a file.
ATTACHMENT = {
    "Content-Disposition": {
        "description": "attachment; filename=chatapp-....json (or .md)",
        "schema": {"type": "string"},
    }
}


class ExportFile(Lenient):
    """A chatapp export (docs/export-format.md): ``format`` and ``version`` say how to read
    ``conversations``. Sent as an attachment; everything is streamed as it is read."""

    model_config = ConfigDict(extra="ignore", openapi_extra={"headers": ATTACHMENT})  # type: ignore[typeddict-unknown-key]

    format: Literal["chatapp.export"]
    version: int = Field(
        ge=1, le=EXPORT_VERSION, description=f"{EXPORT_VERSION} today; older ones are read too"
    )
    exportedAt: Instant
    conversations: list[ExportedConversation]


class ConversationExport(ExportFile):
    """One conversation: an export file holding just it (``format=json``), or a Markdown
    document to read (``format=markdown``, ``text/markdown``)."""

    model_config = ConfigDict(
        extra="ignore",
        openapi_extra={  # type: ignore[typeddict-unknown-key]
            "headers": ATTACHMENT,
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        },
    )


class ExportQuery(BaseModel):
    """How to export one conversation."""

    format: Literal["json", "markdown"] = "json"


class ImportProblem(BaseModel):
    """A conversation of the file that was skipped or failed, and why."""

    index: int = Field(description="Its position in the file, from 0")
    title: str | None
    outcome: Literal["skipped", "failed"]
    code: str = Field(description="DUPLICATE, INVALID_CONVERSATION, ...")
    reason: str


class ImportOut(Out):
    """What an import did: ``problems`` lists the first skipped or failed conversations."""

    source: Literal["chatapp", "chatgpt"] = Field(description="The kind of file read")
    imported: int
    skipped: int = Field(description="Already imported before (same content)")
    failed: int
    sessionIds: list[str] = Field(description="The new conversations (the first 1000)")
    problems: list[ImportProblem]

    @classmethod
    def of(cls, report: Any) -> ImportOut:
        """The answer for an import's report (``services.transfer.Report``)."""
        return cls.from_object(report, sessionIds=report.session_ids)
