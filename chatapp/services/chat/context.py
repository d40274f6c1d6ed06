"""What the model is sent: the stored conversation, curated and within a budget.

Every worker derives the same history from the same rows, so it does not matter which
worker served the previous turn. When the path no longer fits the budget, the older part
can be stood for by a summary (``summaries.py`` stores and writes them); the planning here
is pure: rows and a stored summary in, the turns to send and the summary to write out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chatapp.gemini import Turn
from chatapp.gemini.base import CHARS_PER_TOKEN, estimate_tokens
from chatapp.models import FAILED, ChatMessage

__all__ = [
    "CHARS_PER_TOKEN",
    "SUMMARY_HEADING",
    "Pair",
    "Plan",
    "Summary",
    "estimate_tokens",
    "pairs_of",
    "plan",
    "with_summary",
]

# How a summary is introduced in the system instruction (counted with it).
SUMMARY_HEADING = "Summary of the earlier part of this conversation:"


@dataclass(frozen=True)
class Pair:
    """An answered user message and its reply as the model sees them; ``through`` is the
    reply's message id (what a summary ending with this pair is keyed by)."""

    user: Turn
    reply: Turn
    through: int | None
    tokens: int


@dataclass(frozen=True)
class Summary:
    """A summary of a path up to and including message ``through`` (``pairs`` exchanges)."""

    content: str
    through: int
    pairs: int
    created_at: datetime | None = None

    @property
    def tokens(self) -> int:
        """What the summary costs of the budget, with its heading."""
        return estimate_tokens(f"{SUMMARY_HEADING}\n{self.content}")


@dataclass
class Plan:
    """What a turn sends ahead of its message, and the summary it must write first, if any.

    ``history`` (with ``summary`` when one is sent) is what is sent as things stand; when
    ``fold`` is not empty a new summary of ``previous`` followed by ``fold`` is wanted,
    after which ``kept`` is sent (if it cannot be written, ``history`` still stands).
    """

    history: list[Turn]
    summary: Summary | None = None
    previous: Summary | None = None
    fold: list[Pair] = field(default_factory=list)
    kept: list[Pair] = field(default_factory=list)
    through: int = 0  # the message the new summary covers up to
    pair_count: int = 0  # how many exchanges of the path it stands for

    @property
    def pending(self) -> bool:
        """Whether a summary must be written before the turn's model call."""
        return bool(self.fold)


def _text_turn(message: ChatMessage | Any) -> Turn:
    """A user message as a turn of text."""
    return Turn("user", message.content)


def pairs_of(
    messages: Iterable[ChatMessage | Any], user_turn: Callable[[Any], Turn] = _text_turn
) -> list[Pair]:
    """Pair each answered user message (as ``user_turn`` makes it: its text, or with its
    files) with its non-empty reply; a pair's ``tokens`` count their text."""
    pairs: list[Pair] = []
    pending: Any = None
    for message in messages:
        if message.role == "user":
            pending = message if message.status != FAILED else None
        elif pending is not None and message.content:
            cost = estimate_tokens(pending.content) + estimate_tokens(message.content)
            pair = user_turn(pending), Turn("model", message.content)
            pairs.append(Pair(*pair, getattr(message, "id", None), cost))
            pending = None
        else:
            pending = None
    return pairs


def turns_of(pairs: Sequence[Pair]) -> list[Turn]:
    """The alternating turns of ``pairs``, in order."""
    return [turn for pair in pairs for turn in (pair.user, pair.reply)]


def newest_within(pairs: Sequence[Pair], budget_tokens: int) -> list[Pair]:
    """The newest pairs whose estimated size fits the budget (stopping at the first that
    does not)."""
    used = 0
    start = len(pairs)
    while start > 0 and used + pairs[start - 1].tokens <= budget_tokens:
        start -= 1
        used += pairs[start].tokens
    return list(pairs[start:])


def with_summary(
    summary: Summary, after: Sequence[Pair], budget_tokens: int
) -> tuple[list[Turn], Summary | None]:
    """The turns sent after ``summary`` (the newest of ``after`` that fit beside it), and the
    summary; without it when it alone exceeds the budget."""
    room = budget_tokens - summary.tokens
    if room < 0:
        return turns_of(newest_within(after, budget_tokens)), None
    return turns_of(newest_within(after, room)), summary


def plan(pairs: Sequence[Pair], budget_tokens: int, stored: Summary | None) -> Plan:
    """Plan the context of a turn whose path's ``pairs`` do not all fit the budget.

    ``stored`` is the newest stored summary on the path. If it and every pair after it fit,
    it is reused (no model call). Otherwise a new summary is wanted, made from ``stored``
    and the pairs that fall out after it: enough of them that the rest fit half the budget
    (a quarter is left for the summary), so the next turns reuse it until that slack is
    spent. At most a budget's worth of newly dropped pairs is summarised at once.
    """
    start = _after(pairs, stored)
    fallback = turns_of(newest_within(pairs, budget_tokens))
    if stored is not None:
        after = pairs[start:]
        if stored.tokens + sum(pair.tokens for pair in after) <= budget_tokens:
            return Plan(turns_of(after), stored)
    kept = newest_within(pairs[start:], budget_tokens // 2)
    cut = max(len(pairs) - len(kept), start + 1)
    if cut > len(pairs):
        return Plan(fallback)
    fold = newest_within(pairs[start:cut], budget_tokens)
    return Plan(
        fallback,
        previous=stored,
        fold=fold,
        kept=list(pairs[cut:]),
        through=pairs[cut - 1].through or 0,
        pair_count=cut,
    )


def summary_budget(budget_tokens: int) -> int:
    """The most tokens a written summary should take: a quarter of the budget."""
    return max(1, budget_tokens // 4)


def _after(pairs: Sequence[Pair], stored: Summary | None) -> int:
    """The index of the first pair after the one ``stored`` ends with (0 without one)."""
    if stored is None:
        return 0
    for index, pair in enumerate(pairs):
        if pair.through == stored.through:
            return index + 1
    return 0
