"""What a chat turn carries between its steps: the prepared turn, where it goes in the
conversation's tree, and what was stored as its reply (``turns.py`` runs the steps)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chatapp.gemini import Attachment, Turn
from chatapp.models import ChatMessage
from chatapp.services.chat import attachments, grounding, summaries
from chatapp.services.chat.context import Plan


@dataclass
class StoredReply:
    """What was stored as the reply, kept so answering needs no database read."""

    session_id: uuid.UUID
    message_id: int
    content: str
    sources: list[dict[str, Any]] | None
    grounding: dict[str, Any] | None
    created_at: datetime
    model: str
    title: str | None
    omitted_attachments: list[str] | None = None


@dataclass
class PreparedTurn:
    """A turn whose user message is stored and whose conversation is locked for it."""

    session_id: uuid.UUID
    turn_id: str
    user_message_id: int
    position: int
    message: str
    context: Plan
    system: str | None
    user_id: int = 0
    collection_ids: list[str] | None = None
    web_search: bool = False
    grounding: grounding.TurnGrounding | None = None
    stored: StoredReply | None = None
    budget: int = 0  # tokens of history (and summary) the turn may send
    # Where the reply goes (None: right after the user message); a regenerated reply
    # answers a message stored earlier, which a failure leaves as it was.
    reply_position: int | None = None
    regenerated: bool = False
    # The turn's files (this message's, the budget they leave) until they are read; then
    # this message's files with their bytes and the conversation's files left out.
    files: attachments.TurnFiles | None = None
    attachments: tuple[Attachment, ...] = ()
    omitted: list[str] = field(default_factory=list)

    @property
    def history(self) -> list[Turn]:
        """The turns sent before this turn's message."""
        return self.context.history

    def instruction(self) -> str | None:
        """The system instruction sent: the conversation's own, then the summary (if any)."""
        return summaries.instruction(self.system, self.context.summary)

    def ground(self) -> None:
        """Retrieve for this turn's message (the model gets the passages for it only)."""
        self.grounding = grounding.prepare(
            self.user_id, self.message, self.collection_ids, self.web_search
        )

    def summarise(self) -> None:
        """Write the summary of older turns this turn wants, if any (never fails the turn)."""
        summaries.write(self.session_id, self.context, self.budget)

    def read_files(self) -> None:
        """Choose the files sent with the turns the history now holds (after any summary),
        and read their bytes (a conversation with files only)."""
        if self.files is not None:
            attachments.fit(self.context, self.files)
            self.attachments, self.omitted = self.files.attachments, self.files.omitted

    def ready(self) -> None:
        """Everything before the model call, once the user's message is committed and
        outside any transaction: retrieval, the summary of older turns, then the files."""
        self.ground()
        self.summarise()
        self.read_files()

    def model_args(self) -> tuple[Any, ...]:
        """What the model is asked with (``Model.send``/``stream``): the conversation, the
        history, the message, the instruction, the grounding and the message's files."""
        return (
            str(self.session_id),
            self.history,
            self.message,
            self.instruction(),
            model_input(self),
            self.attachments,
        )

    @property
    def next_position(self) -> int:
        """The position of the turn's reply."""
        return self.position + 1 if self.reply_position is None else self.reply_position


@dataclass(frozen=True)
class Placement:
    """Where a turn goes in the conversation's tree (default: a new message at the end of
    the active path).

    ``parent_id`` (with ``edit``): a new user message below that message (None: a new
    first message), made the active path's message. ``answered``: no new user message,
    a new reply to this stored one (a regeneration); the active path runs through it.
    """

    edit: bool = False
    parent_id: int | None = None
    answered: ChatMessage | None = None


def model_input(turn: PreparedTurn) -> Any:
    """What the model is given to ground this turn on, if anything."""
    return turn.grounding.model_input if turn.grounding else None


# The usual place of a turn: a new message at the end of the active path.
AT_THE_END = Placement()
