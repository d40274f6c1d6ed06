"""Insights: the last 30 days, suggested prompts and weekly reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, RootModel

from chatapp.rendering import render_markdown
from chatapp.schemas.common import MAX_ID, Out, Strict, Timestamp, sse_documented

if TYPE_CHECKING:
    from chatapp.models import WeeklyInsight
    from chatapp.services.insights.weekly import Outcome
    from chatapp.services.insights.weeks import Week

WEEK_START = "UTC instant; weeks run Saturday 00:00 to Friday 23:59:59 in the user's time zone"


class BasedOn(BaseModel):
    """What an insight read."""

    conversations_analyzed: int = Field(description="Conversations the user wrote in")
    messages_analyzed: int = Field(description="The user's messages sent to the model")
    messages_total: int = Field(description="The user's messages in the period")
    time_period: Literal["last_30_days"]


class InsightsOut(Out):
    """An insight over the last 30 days; ``insights`` is null with a message when there was
    nothing to read."""

    omit_if_none = ("message",)

    insights: str | None
    generated_at: Timestamp
    based_on: BasedOn
    model: str | None
    message: str | None = None


class SuggestedPrompt(BaseModel):
    """A suggested opening message."""

    id: str
    text: str
    category: str


class PromptList(Out):
    """Suggested prompts; ``source`` says whether the model wrote them."""

    prompts: list[SuggestedPrompt]
    total: int
    source: Literal["model", "default"]

    @classmethod
    def of(cls, items: Sequence[tuple[str, str]], source: str) -> PromptList:
        """Seed 003's prompt list from (text, category) pairs, numbered from 1."""
        prompts = [
            SuggestedPrompt(id=f"prompt_{index}", text=text, category=category)
            for index, (text, category) in enumerate(items, start=1)
        ]
        return cls(prompts=prompts, total=len(prompts), source=source)


class WeeklyInsightOut(Out):
    """A stored weekly insight. ``entry_count`` counts the conversations the user wrote in
    that week; ``html`` is the content rendered and sanitised."""

    id: int
    user_id: int
    week_start: Timestamp = Field(description=WEEK_START)
    week_end: Timestamp = Field(description="UTC instant of the week's last second")
    content: str
    html: str
    entry_count: int
    model: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, insight: WeeklyInsight) -> WeeklyInsightOut:
        """A stored insight (seed 003's fields, plus ``html`` and ``model``)."""
        return cls.from_object(insight, html=render_markdown(insight.content))

    @classmethod
    def maybe(cls, insight: WeeklyInsight | None) -> WeeklyInsightOut | None:
        """A stored insight, or None for none."""
        return cls.of(insight) if insight is not None else None


class WeeklyInsightList(RootModel[list[WeeklyInsightOut]]):
    """The caller's weekly insights, newest week first."""

    @classmethod
    def of(cls, insights: list[WeeklyInsight]) -> WeeklyInsightList:
        """The caller's stored insights."""
        return cls([WeeklyInsightOut.of(insight) for insight in insights])

    def body(self) -> list[Any]:
        """This response as JSON-ready data (a bare array, as seed 003)."""
        return self.model_dump(mode="json")


class CurrentWeekOut(Out):
    """The current week's bounds and its insight, if generated."""

    insight: WeeklyInsightOut | None
    weekStart: Timestamp = Field(description=WEEK_START)
    weekEnd: Timestamp = Field(description="UTC instant of the week's last second")

    @classmethod
    def of(cls, week: Week, insight: WeeklyInsight | None) -> CurrentWeekOut:
        """A week (``start``, ``end``) and its insight, if any."""
        return cls(insight=WeeklyInsightOut.maybe(insight), weekStart=week.start, weekEnd=week.end)


class GenerateIn(Strict):
    """Generate this week's insight; an existing one is returned unless forced."""

    forceRegenerate: bool = False


class GenerateOut(CurrentWeekOut):
    """The generated (or existing) insight; null with a message for a week without
    conversations."""

    omit_if_none = ("message",)

    isExisting: bool
    entryCount: int
    message: str | None = None

    @classmethod
    def of_outcome(cls, outcome: Outcome) -> GenerateOut:
        """The result of asking for a week's insight."""
        return cls(
            insight=WeeklyInsightOut.maybe(outcome.insight),
            isExisting=outcome.is_existing,
            entryCount=outcome.entry_count,
            weekStart=outcome.week.start,
            weekEnd=outcome.week.end,
            message=outcome.message,
        )


class WeeklyInsightPath(BaseModel):
    """A weekly insight id in the path."""

    insight_id: int = Field(ge=1, le=MAX_ID)


class UsageInfo(Out):
    """The caller's insight rate limit after this request (nulls when none applies)."""

    allowed: bool
    remaining: int | None
    limit: int | None


class WeeklyStreamEvent(BaseModel):
    """One ``data:`` event of a weekly insight stream (``text/event-stream``).

    ``start`` {weekStart, weekEnd, entryCount, usageInfo, isExisting}; ``chunk`` {content};
    ``done`` {insight, message?} (insight null for a week without conversations);
    ``error`` {code, message, saved: false}. Comments (``: keep-alive``) may come between.
    """

    model_config = sse_documented("WeeklyStreamEvent")

    type: Literal["start", "chunk", "done", "error"]
    weekStart: datetime | None = None
    weekEnd: datetime | None = None
    entryCount: int | None = None
    usageInfo: UsageInfo | None = None
    isExisting: bool | None = None
    content: str | None = None
    insight: WeeklyInsightOut | None = None
    code: str | None = None
    message: str | None = None
    saved: bool | None = None


class InsightStreamEvent(BaseModel):
    """One ``data:`` event of the 30-day insight stream.

    ``start`` {based_on}; ``content`` {content}; ``end`` {generated_at, based_on, model} (or
    {insights: null, message, based_on} with nothing to read); ``error`` {code, message,
    saved: false}.
    """

    model_config = sse_documented("InsightStreamEvent")

    type: Literal["start", "content", "end", "error"]
    based_on: BasedOn | None = None
    content: str | None = None
    generated_at: datetime | None = None
    model: str | None = None
    insights: None = None
    code: str | None = None
    message: str | None = None
    saved: bool | None = None
