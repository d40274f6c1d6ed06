"""Import: conversations from a chatapp export or ChatGPT's ``conversations.json``.

Each conversation is imported all or nothing, in its own transaction, under a new id.
Its fingerprint (a SHA-256 of its content) is stored with it, unique per user: importing
the same conversation again creates nothing and counts it as skipped.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from chatapp.extensions import db
from chatapp.inputs import nul_paths
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.schemas.chat import MessageItem
from chatapp.schemas.transfer import EXPORT_VERSION, ExportedConversation, ImportProblem
from chatapp.services.transfer import chatgpt, reading

# Most problems and new ids an import answer lists (the counts are always complete).
MAX_PROBLEMS = 100
MAX_IDS = 1000
# Role names stored for each role of an export file.
ROLES = {shown: stored for stored, shown in MessageItem.ROLES.items()}
#: Older export versions read by upgrading each conversation one version at a time:
#: ``UPGRADES[n]`` turns a version-n conversation (a dict) into a version n+1 one.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class Report:
    """What an import did so far."""

    source: str
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    session_ids: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    def added(self, session_id: uuid.UUID) -> None:
        """Count a conversation imported."""
        self.imported += 1
        if len(self.session_ids) < MAX_IDS:
            self.session_ids.append(str(session_id))

    def problem(self, index: int, title: str | None, code: str, reason: str) -> None:
        """Count a conversation skipped (``DUPLICATE``) or failed (any other code)."""
        outcome = "skipped" if code == "DUPLICATE" else "failed"
        if outcome == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                ImportProblem(index=index, title=title, outcome=outcome, code=code, reason=reason)
            )


class InvalidConversation(ValueError):
    """A conversation of the file that cannot be imported: the message says why."""


def import_file(user: User, file: IO[bytes]) -> Report:
    """Import every conversation of ``file`` for ``user`` (400 if it is not an export)."""
    plan = reading.inspect(file)
    report = Report(plan.source)
    for _ in run(user, file, plan, report):
        pass
    return report


def run(user: User, file: IO[bytes], plan: reading.Plan, report: Report) -> Iterator[int]:
    """Import the conversations of a checked file one by one, yielding after each."""
    user_id = user.id
    for index, raw in enumerate(reading.conversations(file, plan)):
        import_one(user_id, index, raw, plan, report)
        yield index


def import_one(user_id: int, index: int, raw: Any, plan: reading.Plan, report: Report) -> None:
    """Import one conversation of the file, or count it as skipped or failed."""
    title = raw.get("title") if isinstance(raw, dict) else None
    title = title if isinstance(title, str) else None
    try:
        conversation = parse(raw, plan)
    except InvalidConversation as exc:
        report.problem(index, title, "INVALID_CONVERSATION", str(exc))
        return
    digest = fingerprint(conversation)
    if _imported_before(user_id, digest):
        report.problem(index, title, "DUPLICATE", "Already imported (the same content).")
        return
    try:
        report.added(store(user_id, conversation, digest))
    except IntegrityError:  # the same conversation, imported at the same moment
        db.session.rollback()
        report.problem(index, title, "DUPLICATE", "Already imported (the same content).")


def parse(raw: Any, plan: reading.Plan) -> ExportedConversation:
    """One conversation of the file in the current export format, checked."""
    paths = sorted(set(nul_paths(raw)))
    if paths:
        raise InvalidConversation(f"Text must not contain NUL characters: {', '.join(paths)}.")
    try:
        if plan.source == reading.CHATGPT:
            return chatgpt.convert(raw)
        return ExportedConversation.model_validate(upgraded(raw, plan.version))
    except chatgpt.ConversionError as exc:
        raise InvalidConversation(str(exc)) from None
    except ValidationError as exc:
        raise InvalidConversation(_first_error(exc)) from None


def upgraded(raw: Any, version: int) -> Any:
    """A conversation of an older export version, brought up to the current one."""
    for step in range(version, EXPORT_VERSION):
        raw = UPGRADES[step](raw) if isinstance(raw, dict) else raw
    return raw


def _first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, with where it is."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "conversation"
    return f"{where}: {error['msg']}"


def fingerprint(conversation: ExportedConversation) -> str:
    """The SHA-256 of what a conversation says: title, start, system prompt, and each
    message's role, text, time and status (times in UTC, so offsets do not matter)."""
    prompt = conversation.personality.systemPrompt if conversation.personality else None
    content = {
        "title": conversation.title,
        "createdAt": conversation.createdAt.timestamp(),
        "systemPrompt": prompt,
        "messages": [
            [m.role, m.content, m.createdAt.timestamp(), m.status] for m in conversation.messages
        ],
    }
    if not conversation.linear():  # (a single branch hashes as it did before branches)
        content["parents"] = conversation.parents()
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _imported_before(user_id: int, digest: str) -> bool:
    """Whether the user already has a conversation with this fingerprint."""
    query = select(ChatSession.id).where(
        ChatSession.user_id == user_id, ChatSession.import_fingerprint == digest
    )
    return db.session.scalar(query) is not None


def store(user_id: int, conversation: ExportedConversation, digest: str) -> uuid.UUID:
    """Save one conversation with all its messages under a new id, in one transaction."""
    personality = conversation.personality
    key = uuid.uuid4()
    session = ChatSession(
        id=key,
        user_id=user_id,
        title=conversation.title,
        title_set_by_user=conversation.titleSetByUser,
        system_prompt=personality.systemPrompt if personality else None,
        created_at=conversation.createdAt,
        updated_at=conversation.updatedAt,
        message_count=len(conversation.messages),
        web_search=conversation.webSearch,
        archived=conversation.archived,
        import_fingerprint=digest,
    )
    session.messages = [
        ChatMessage(
            position=position,
            role=ROLES[m.role],
            content=m.content,
            created_at=m.createdAt,
            status=m.status,
            error_code=m.errorCode,
            model=m.model,
            sources=[source.model_dump() for source in m.sources] or None,
            grounding=m.grounding.model_dump() if m.grounding else None,
            prompt_tokens=m.promptTokens,
            output_tokens=m.outputTokens,
        )
        for position, m in enumerate(conversation.messages)
    ]
    db.session.add(session)
    _link(session, conversation)
    db.session.commit()
    return key


def _link(session: ChatSession, conversation: ExportedConversation) -> None:
    """Give the new messages their parents and the conversation its active message (the
    messages are written first, in one batch, to get their ids)."""
    db.session.flush()
    ids = [message.id for message in session.messages]
    links = [
        {"id": ids[number], "parent_id": ids[parent]}
        for number, parent in enumerate(conversation.parents())
        if parent is not None
    ]
    if links:
        db.session.execute(update(ChatMessage), links)
    if conversation.activeMessage is not None:
        session.active_message_id = ids[conversation.activeMessage]
