"""What the model is sent: the stored conversation, curated and within a budget.

Every worker derives the same history from the same rows, so it does not matter which
worker served the previous turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chatapp.gemini import Turn
from chatapp.gemini.base import CHARS_PER_TOKEN, estimate_tokens
from chatapp.models import FAILED, ChatMessage

__all__ = ["CHARS_PER_TOKEN", "answered_pairs", "estimate_tokens", "model_history"]


def model_history(messages: Iterable[ChatMessage | Any], budget_tokens: int) -> list[Turn]:
    """Return the alternating user/model turns to send before the next message.

    ``messages`` are stored messages or rows with their ``role``, ``content`` and
    ``status``. Failed user messages are left out, a reply counts as one model turn however it was
    streamed, a user turn without a reply is dropped (so turns alternate), and only the
    newest pairs that fit ``budget_tokens`` are kept.
    """
    return _within_budget(_pairs(messages), budget_tokens)


def _text_turn(message: ChatMessage | Any) -> Turn:
    """A user message as a turn of text."""
    return Turn("user", message.content)


def _pairs(
    messages: Iterable[ChatMessage | Any], user_turn: Callable[[Any], Turn] = _text_turn
) -> list[tuple[Turn, Turn]]:
    """Pair each answered user message (as ``user_turn`` makes it) with its non-empty
    reply."""
    pairs: list[tuple[Turn, Turn]] = []
    pending: Any = None
    for message in messages:
        if message.role == "user":
            pending = message if message.status != FAILED else None
        elif pending is not None and message.content:
            pairs.append((user_turn(pending), Turn("model", message.content)))
            pending = None
        else:
            pending = None
    return pairs


# Public for the attachments' own budgeting (services/chat/attachments.py).
answered_pairs = _pairs


def _within_budget(pairs: list[tuple[Turn, Turn]], budget_tokens: int) -> list[Turn]:
    """Keep the newest pairs whose estimated size fits the budget."""
    kept: list[tuple[Turn, Turn]] = []
    used = 0
    for pair in reversed(pairs):
        cost = estimate_tokens(pair[0].text) + estimate_tokens(pair[1].text)
        if used + cost > budget_tokens:
            break
        kept.append(pair)
        used += cost
    return [turn for pair in reversed(kept) for turn in pair]
