"""Files in chat turns: which a turn sends to the model, within its token budget.

An attachment is part of its user turn and is sent again on every later turn, as long as
the history's budget (``CHAT_CONTEXT_TOKENS``) allows. Each file's cost is what the model
counted at upload (``files.tokens``). This message's own files are counted first; the
history's text is then planned as for any turn (older turns dropped or summarised,
``summaries.py``), and its files get the room the text leaves, newest first: the oldest
attachments give way first (their turn's text stays). The reply records which files of the
turns sent were left out.

A text-only conversation takes the text path unchanged (no bytes read, no extra query);
with files, their bytes are read for the ones sent only, in one query.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chatapp.extensions import db
from chatapp.gemini import Attachment, Turn
from chatapp.gemini.base import estimate_tokens
from chatapp.models import UploadedFile, User
from chatapp.services import files
from chatapp.services.chat import context


@dataclass
class TurnFiles:
    """This message's files a turn sends (their bytes once :func:`fit` read them), the ids
    of the conversation's files left out, and the budget left for the history."""

    attachments: tuple[Attachment, ...] = ()
    omitted: list[str] = field(default_factory=list)
    budget: int = 0  # what is left of the turn's budget for the history


@dataclass
class _Message:
    """A stored message of the history with the files attached to it."""

    id: int
    role: str
    content: str
    status: str
    attachments: tuple[Attachment, ...]


def check(user: User, ids: Sequence[str]) -> list[UploadedFile]:
    """The files to attach to the turn's message (404, 409, 413 before anything is
    stored; see :func:`files.check_attachments`); none when no ids are given."""
    return files.check_attachments(user, ids) if ids else []


def names(sent: Iterable[Attachment]) -> str:
    """The names of files, as the text a conversation of only files is titled from."""
    return ", ".join(file.name for file in sent)


def one_off(user: User, ids: Sequence[str]) -> tuple[Attachment, ...]:
    """The files of a one-off prompt, with their bytes (checked like a turn's; they stay
    unattached). Ends the transaction, so no row stays locked while the model answers."""
    if not ids:
        return ()
    chosen = [_of(file) for file in check(user, ids)]
    data = files.contents([uuid.UUID(file.file_id) for file in chosen])
    db.session.rollback()
    return _with_bytes(chosen, data, [])


def session_values(new: Sequence[UploadedFile]) -> dict[str, Any]:
    """What a turn sets on its conversation with its lock: ``has_files`` once a message
    of it has files."""
    return {"has_files": True} if new else {}


def of_message(message_id: int) -> list[UploadedFile]:
    """The files attached to a stored message (a regenerated reply resends them)."""
    return files.attached_to([message_id]).get(message_id, [])


def current(new: Sequence[UploadedFile], budget: int) -> TurnFiles:
    """This message's files that fit ``budget`` (the first ones give way), without their
    bytes yet, and the budget left for the history."""
    sent, left_out = _fit([_of(file) for file in new], budget)
    used = sum(file.tokens for file in sent)
    return TurnFiles(tuple(sent), [file.file_id for file in left_out], budget - used)


def pairs(rows: Sequence[Any], with_files: bool) -> list[context.Pair]:
    """The answered exchanges of a path's history rows, user turns with their files (no
    bytes) when the rows carry the files' columns; a text-only conversation's rows are
    paired as they are."""
    if not with_files:
        return context.pairs_of(rows)
    return context.pairs_of(_messages(rows), _user_turn)


def fit(plan: context.Plan, sent: TurnFiles) -> None:
    """Give the files of the turns ``plan`` sends the room their text (and summary) leaves
    in the budget, newest first (the oldest give way), and read the bytes of those sent and
    of this message's files, in one read that ends its transaction (the model's answer may
    take seconds). Updates ``plan`` (its turns with their bytes) and ``sent`` (this
    message's files with theirs; every file left out in ``omitted``)."""
    every = [file for turn in plan.history for file in turn.attachments]
    room = sent.budget - _text_tokens(plan)
    cut = len(every)
    while cut and every[cut - 1].tokens <= room:
        cut -= 1
        room -= every[cut].tokens
    omitted = [file.file_id for file in every[:cut]]
    wanted = [*every[cut:], *sent.attachments]
    data = files.contents([uuid.UUID(file.file_id) for file in wanted])
    db.session.commit()
    plan.history = [_loaded(turn, data, omitted) for turn in plan.history]
    sent.attachments = _with_bytes(sent.attachments, data, omitted)
    sent.omitted = omitted + sent.omitted


def _text_tokens(plan: context.Plan) -> int:
    """The budget the text a plan sends takes: its turns and its summary."""
    summary = plan.summary.tokens if plan.summary is not None else 0
    return summary + sum(estimate_tokens(turn.text) for turn in plan.history)


def _of(file: UploadedFile) -> Attachment:
    """A file as an attachment without its bytes yet."""
    return Attachment(str(file.id), file.name, file.mime_type, _tokens(file.tokens, file.size))


def _tokens(counted: int | None, size: int) -> int:
    """A file's counted tokens, or a rough estimate when it has no count."""
    return counted if counted is not None else size // 4 + 1


def _fit(attachments: list[Attachment], budget: int) -> tuple[list[Attachment], list[Attachment]]:
    """This message's files that fit ``budget`` (the first ones give way), and the rest."""
    kept = list(attachments)
    while kept and sum(file.tokens for file in kept) > budget:
        kept.pop(0)
    return kept, attachments[: len(attachments) - len(kept)]


def _messages(rows: Iterable[Any]) -> list[_Message]:
    """History rows (one per attached file) as messages, each with its files in order."""
    messages: list[_Message] = []
    last_id = None
    for row in rows:
        if row.id != last_id or not messages:
            messages.append(_Message(row.id, row.role, row.content, row.status, ()))
            last_id = row.id
        if row.file_id is not None:
            tokens = _tokens(row.file_tokens, row.file_size)
            file = Attachment(str(row.file_id), row.file_name, row.file_mime, tokens)
            messages[-1].attachments += (file,)
    return messages


def _user_turn(message: _Message) -> Turn:
    """A user message as a turn with its files."""
    return Turn("user", message.content, message.attachments)


def _loaded(turn: Turn, data: dict[uuid.UUID, bytes], omitted: list[str]) -> Turn:
    """A turn whose files carry their bytes."""
    if not turn.attachments:
        return turn
    return replace(turn, attachments=_with_bytes(turn.attachments, data, omitted))


def _with_bytes(
    attachments: Iterable[Attachment], data: dict[uuid.UUID, bytes], omitted: list[str]
) -> tuple[Attachment, ...]:
    """The files with their bytes; a file whose bytes are gone is added to ``omitted``."""
    kept = []
    for file in attachments:
        content = data.get(uuid.UUID(file.file_id))
        if content is None:
            if file.file_id not in omitted:
                omitted.append(file.file_id)
        else:
            kept.append(replace(file, data=content))
    return tuple(kept)
