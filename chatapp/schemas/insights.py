"""Insights: the last 30 days, suggested prompts and weekly reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from chatapp.schemas.common import MAX_ID, Strict

WEEK_START = "UTC instant; weeks run Saturday 00:00 to Friday 23:59:59 in the user's time zone"


class BasedOn(BaseModel):
    """What an insight read."""

    conversations_analyzed: int = Field(description="Conversations the user wrote in")
    messages_analyzed: int = Field(description="The user's messages sent to the model")
    messages_total: int = Field(description="The user's messages in the period")
    time_period: Literal["last_30_days"]


class InsightsOut(BaseModel):
    """An insight over the last 30 days; ``insights`` is null with a message when there was
    nothing to read."""

    insights: str | None
    generated_at: datetime
    based_on: BasedOn
    model: str | None
    message: str | None = None


class SuggestedPrompt(BaseModel):
    """A suggested opening message."""

    id: str
    text: str
    category: str


class PromptList(BaseModel):
    """Suggested prompts; ``source`` says whether the model wrote them."""

    prompts: list[SuggestedPrompt]
    total: int
    source: Literal["model", "default"]


class WeeklyInsightOut(BaseModel):
    """A stored weekly insight. ``entry_count`` counts the conversations the user wrote in
    that week; ``html`` is the content rendered and sanitised."""

    id: int
    user_id: int
    week_start: datetime = Field(description=WEEK_START)
    week_end: datetime = Field(description="UTC instant of the week's last second")
    content: str
    html: str
    entry_count: int
    model: str | None
    created_at: datetime
    updated_at: datetime


class WeeklyInsightList(RootModel[list[WeeklyInsightOut]]):
    """The caller's weekly insights, newest week first."""


class CurrentWeekOut(BaseModel):
    """The current week's bounds and its insight, if generated."""

    insight: WeeklyInsightOut | None
    weekStart: datetime = Field(description=WEEK_START)
    weekEnd: datetime = Field(description="UTC instant of the week's last second")


class GenerateIn(Strict):
    """Generate this week's insight; an existing one is returned unless forced."""

    forceRegenerate: bool = False


class GenerateOut(CurrentWeekOut):
    """The generated (or existing) insight; null with a message for a week without
    conversations."""

    isExisting: bool
    entryCount: int
    message: str | None = None


class WeeklyInsightPath(BaseModel):
    """A weekly insight id in the path."""

    insight_id: int = Field(ge=1, le=MAX_ID)


class UsageInfo(BaseModel):
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
    {insights: null, message, based_on} with nothing to read); ``error`` {code, message}.
    """

    type: Literal["start", "content", "end", "error"]
    based_on: BasedOn | None = None
    content: str | None = None
    generated_at: datetime | None = None
    model: str | None = None
    insights: None = None
    code: str | None = None
    message: str | None = None
