"""What an insight reads: one user's own messages of a period, within a token budget.

Only the user's own messages are read (never the model's replies, never another user's
rows), newest first until the budget is spent; each message is clipped to a quarter of the
budget so one long paste cannot crowd out the rest of the period. The chosen excerpts are
then laid out oldest first, each with its local time and conversation title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import FAILED, ChatMessage, ChatSession
from chatapp.services.chat.context import CHARS_PER_TOKEN, estimate_tokens

# The fixed part of a line ("- [Sat 21 Nov 14:03] () ") is about this many tokens.
MIN_LINE_TOKENS = 6


@dataclass(frozen=True)
class Excerpts:
    """The chosen text and what the period held."""

    text: str  # the excerpts, oldest first, within the budget
    conversations: int  # conversations the user wrote in during the period
    messages: int  # the user's messages in the period
    included: int  # how many of them are (possibly clipped) in ``text``


def _period(user_id: int, start: datetime, stop: datetime) -> list[Any]:
    """Conditions selecting the user's own, not failed, messages in ``[start, stop)``."""
    return [
        ChatSession.user_id == user_id,
        ChatMessage.session_id == ChatSession.id,
        ChatMessage.role == "user",
        ChatMessage.status != FAILED,
        ChatMessage.created_at >= start,
        ChatMessage.created_at < stop,
    ]


def count(user_id: int, start: datetime, stop: datetime) -> tuple[int, int]:
    """Return (conversations, messages) the user wrote in ``[start, stop)``."""
    row = db.session.execute(
        select(func.count(func.distinct(ChatMessage.session_id)), func.count(ChatMessage.id))
        .select_from(ChatMessage)
        .join(ChatSession, ChatMessage.session_id == ChatSession.id)
        .where(*_period(user_id, start, stop))
    ).one()
    return row[0] or 0, row[1] or 0


def collect(
    user_id: int, zone: str, start: datetime, stop: datetime, budget: int | None = None
) -> Excerpts:
    """Choose the user's newest messages of ``[start, stop)`` that fit ``budget`` tokens."""
    budget = budget or current_app.config["INSIGHT_CONTEXT_TOKENS"]
    conversations, messages = count(user_id, start, stop)
    chosen = _newest_within(_newest(user_id, start, stop, budget), ZoneInfo(zone), budget)
    return Excerpts("\n".join(reversed(chosen)), conversations, messages, len(chosen))


def _newest(user_id: int, start: datetime, stop: datetime, budget: int) -> list[Any]:
    """Return (content, created_at, title) of the period's messages, newest first.

    Every formatted line costs at least ``MIN_LINE_TOKENS``, so no more rows than that
    allows could fit the budget.
    """
    return list(
        db.session.execute(
            select(ChatMessage.content, ChatMessage.created_at, ChatSession.title)
            .join(ChatSession, ChatMessage.session_id == ChatSession.id)
            .where(*_period(user_id, start, stop))
            .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc())
            .limit(budget // MIN_LINE_TOKENS + 1)
        )
    )


def _newest_within(rows: list[Any], zone: ZoneInfo, budget: int) -> list[str]:
    """Format rows into lines, newest first, until the next one would exceed ``budget``."""
    clip = max(budget // 4, 16) * CHARS_PER_TOKEN
    lines: list[str] = []
    used = 0
    for content, created_at, title in rows:
        text = " ".join(content.split())
        if len(text) > clip:
            text = text[: clip - 1] + "…"
        when = created_at.astimezone(zone).strftime("%a %d %b %H:%M")
        line = f"- [{when}] ({title or 'untitled'}) {text}"
        cost = estimate_tokens(line)
        if used + cost > budget:
            break
        lines.append(line)
        used += cost
    return lines
