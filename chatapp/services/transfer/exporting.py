"""Export: a user's conversations as a chatapp export file (JSON) or a Markdown document.

Exporting everything is streamed: conversations are read a batch at a time, each batch's
read transaction ends before its JSON is sent, so neither the whole export nor a pooled
connection is held while a slow client downloads it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.schemas.chat import MessageItem
from chatapp.schemas.transfer import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ExportedConversation,
    ExportedMessage,
    ExportedPersonality,
    ExportFile,
)
from chatapp.services.chat import conversations, personalities

# Conversations read per query while streaming an export.
BATCH = 50
# Role names in an export file, as /api/v1 shows them.
ROLES = MessageItem.ROLES


def personality_names(user: User) -> dict[str, str]:
    """The name of each system prompt among the personalities the user can use."""
    return {p.system_prompt: p.name for p in reversed(personalities.list_personalities(user))}


def exported_message(message: ChatMessage, parent: int | None) -> ExportedMessage:
    """One stored message in the export format, below the message at index ``parent``."""
    return ExportedMessage(
        role=ROLES[message.role],
        content=message.content,
        createdAt=message.created_at,
        status=message.status,
        errorCode=message.error_code,
        model=message.model,
        sources=message.sources or [],
        grounding=message.grounding,
        promptTokens=message.prompt_tokens,
        outputTokens=message.output_tokens,
        parent=parent,
    )


def exported_conversation(session: ChatSession, names: dict[str, str]) -> ExportedConversation:
    """One stored conversation with all its messages (every branch, in the order they were
    written) in the export format."""
    index: dict[int | None, int] = {m.id: number for number, m in enumerate(session.messages)}
    prompt = session.system_prompt
    personality = None
    if prompt is not None:
        personality = ExportedPersonality(name=names.get(prompt), systemPrompt=prompt)
    return ExportedConversation(
        title=session.title,
        titleSetByUser=session.title_set_by_user,
        createdAt=session.created_at,
        updatedAt=session.updated_at,
        personality=personality,
        webSearch=session.web_search,
        archived=session.archived,
        messages=[exported_message(m, index.get(m.parent_id)) for m in session.messages],
        activeMessage=index.get(session.active_message_id),
    )


def export_one(user: User, session_id: str) -> ExportFile:
    """One of the user's conversations as an export file (404 for anyone else's)."""
    session = conversations.get_session(user, session_id)
    conversation = exported_conversation(session, personality_names(user))
    return ExportFile(
        format=EXPORT_FORMAT,
        version=EXPORT_VERSION,
        exportedAt=utcnow(),
        conversations=[conversation],
    )


@dataclass
class ExportStream:
    """Everything a user has, ready to stream: :meth:`chunks` yields the file's text, the
    opening, then one chunk per conversation, then the closing."""

    user_id: int
    ids: list[uuid.UUID]
    names: dict[str, str]

    @property
    def count(self) -> int:
        """How many conversations the export holds."""
        return len(self.ids)

    def chunks(self) -> Iterator[str]:
        """The export file's JSON text, piece by piece."""
        opening = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION}
        opening["exportedAt"] = utcnow().isoformat()
        yield json.dumps(opening)[:-1] + ', "conversations": [\n'
        separator = ""
        for conversation in self.conversations():
            yield separator + conversation.model_dump_json()
            separator = ",\n"
        yield "\n]}\n"

    def conversations(self) -> Iterator[ExportedConversation]:
        """Each conversation still there, read a batch at a time."""
        for start in range(0, len(self.ids), BATCH):
            batch = self.ids[start : start + BATCH]
            found = [exported_conversation(s, self.names) for s in _load(self.user_id, batch)]
            db.session.commit()  # end the read: no connection held while the client reads
            yield from found


def export_all(user: User) -> ExportStream:
    """All the user's conversations, most recently active first, ready to stream."""
    stream = ExportStream(user.id, conversations.session_ids(user), personality_names(user))
    db.session.commit()
    return stream


def _load(user_id: int, ids: Iterable[uuid.UUID]) -> list[ChatSession]:
    """The user's conversations of ``ids`` with their messages, in the order of ``ids``."""
    keys = list(ids)
    rows = db.session.scalars(
        select(ChatSession)
        .where(ChatSession.id.in_(keys), ChatSession.user_id == user_id)
        .options(selectinload(ChatSession.messages))
    )
    found = {session.id: session for session in rows}
    return [found[key] for key in keys if key in found]


def filename(title: str | None, extension: str) -> str:
    """A safe ASCII file name for an export: ``chatapp-<title>-<date>.<extension>``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", title or "").strip("-").lower()[:60]
    stem = f"chatapp-{slug}" if slug else "chatapp-export"
    return f"{stem}-{utcnow():%Y-%m-%d}.{extension}"
