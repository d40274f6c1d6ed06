"""The events of the insight streams, seed 003's two vocabularies.

``GET /api/v1/chat/insights/stream`` (30 days): :class:`Start`, :class:`Content`…,
:class:`End` (or :class:`NothingToRead`), or :class:`Error`. The weekly streams
(``…/weekly-insights/stream`` and ``…/regenerate``): :class:`WeekStart`, :class:`Chunk`…,
:class:`Done`, or :class:`Error`. Names and keys are exactly what clients read;
``docs/streaming.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.schemas import BasedOn, UsageInfo, WeeklyInsightOut
from chatapp.sse import Event, Failure, Piece, optional


@dataclass(frozen=True)
class Start(Event):
    """A 30-day insight began, reading ``based_on``."""

    type = "start"
    based_on: BasedOn


@dataclass(frozen=True)
class Content(Piece):
    """One piece of a 30-day insight."""

    type = "content"


@dataclass(frozen=True)
class End(Event):
    """The 30-day insight is complete."""

    type = "end"
    generated_at: str
    based_on: BasedOn
    model: str


@dataclass(frozen=True)
class NothingToRead(Event):
    """The last 30 days hold no message of the user's: no insight, and no model call."""

    type = "end"
    insights: None
    message: str
    based_on: BasedOn


@dataclass(frozen=True)
class WeekStart(Event):
    """A weekly insight began (``isExisting``: the stored one is replayed)."""

    type = "start"
    weekStart: str
    weekEnd: str
    entryCount: int
    usageInfo: UsageInfo
    isExisting: bool


@dataclass(frozen=True)
class Chunk(Piece):
    """One piece of a weekly insight."""

    type = "chunk"


@dataclass(frozen=True)
class Done(Event):
    """The weekly insight as saved, or null with a ``message`` for a week without any."""

    type = "done"
    insight: WeeklyInsightOut | None
    message: str | None = optional()


@dataclass(frozen=True)
class Error(Failure):
    """An insight failed; nothing was saved."""

    saved: bool = False
