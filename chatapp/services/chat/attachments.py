"""Files in chat turns: which a turn sends to the model, within its token budget.

An attachment is part of its user turn and is sent again on every later turn, as long as
the history's budget (``CHAT_CONTEXT_TOKENS``) allows. Each file's cost is what the model
counted at upload (``files.tokens``). When the history does not fit, the oldest
attachments give way first (their turn's text stays), then the oldest turns, as for text;
this message's own files go last. The reply records which files were left out.

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
from chatapp.services.chat.context import answered_pairs, model_history

Pair = tuple[Turn, Turn]


@dataclass
class TurnFiles:
    """What a turn sends: the history, this message's files (with their bytes), and the
    ids of the conversation's files left out."""

    history: list[Turn]
    attachments: tuple[Attachment, ...] = ()
    omitted: list[str] = field(default_factory=list)


@dataclass
class _Message:
    """A stored message of the history with the files attached to it."""

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


def plan(
    rows: Sequence[Any], new: Sequence[UploadedFile], budget: int, with_files: bool
) -> TurnFiles:
    """The history to send, this message's files ``new`` and what was left out, within
    ``budget`` tokens. ``rows`` come from :func:`conversations.history_rows`, with the
    files' columns when ``with_files`` (the conversation has files; always when ``new``
    are given, its lock set ``has_files``). A text-only conversation takes the text path
    unchanged."""
    if not with_files:
        return TurnFiles(model_history(rows, budget))
    current, left_out = _fit([_of(file) for file in new], budget)
    budget -= sum(file.tokens for file in current)
    turns, omitted = _within_budget(answered_pairs(_messages(rows), _user_turn), budget)
    data = files.contents([uuid.UUID(file.file_id) for file in _sent(turns, current)])
    history = [_loaded(turn, data, omitted) for turn in turns]
    sent = _with_bytes(current, data, omitted)
    return TurnFiles(history, sent, omitted + [file.file_id for file in left_out])


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
        if row.message_id != last_id or not messages:
            messages.append(_Message(row.role, row.content, row.status, ()))
            last_id = row.message_id
        if row.file_id is not None:
            tokens = _tokens(row.file_tokens, row.file_size)
            file = Attachment(str(row.file_id), row.file_name, row.file_mime, tokens)
            messages[-1].attachments += (file,)
    return messages


def _user_turn(message: _Message) -> Turn:
    """A user message as a turn with its files."""
    return Turn("user", message.content, message.attachments)


def _within_budget(pairs: list[Pair], budget: int) -> tuple[list[Turn], list[str]]:
    """The turns to send and the ids of the files left out: the oldest files give way
    first; when the text alone is over the budget, every file, then the oldest turns."""
    every = [file for user, _ in pairs for file in user.attachments]
    text = [estimate_tokens(user.text) + estimate_tokens(reply.text) for user, reply in pairs]
    if sum(text) > budget:
        stripped = [(replace(user, attachments=()), reply) for user, reply in pairs]
        return _newest(stripped, text, budget), [file.file_id for file in every]
    room = budget - sum(text)
    cut = len(every)
    while cut and every[cut - 1].tokens <= room:
        cut -= 1
        room -= every[cut].tokens
    omitted = [file.file_id for file in every[:cut]]
    return [turn for pair in pairs for turn in _without(pair, set(omitted))], omitted


def _without(pair: Pair, omitted: set[str]) -> Pair:
    """A pair whose user turn no longer carries the files ``omitted``."""
    user, reply = pair
    if not omitted or not user.attachments:
        return pair
    kept = tuple(file for file in user.attachments if file.file_id not in omitted)
    return replace(user, attachments=kept), reply


def _newest(pairs: list[Pair], costs: list[int], budget: int) -> list[Turn]:
    """The newest pairs whose text fits the budget."""
    used, first = 0, len(pairs)
    while first and used + costs[first - 1] <= budget:
        first -= 1
        used += costs[first]
    return [turn for pair in pairs[first:] for turn in pair]


def _sent(turns: list[Turn], current: list[Attachment]) -> list[Attachment]:
    """Every attachment still in the turns, and this message's."""
    return [file for turn in turns for file in turn.attachments] + current


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
