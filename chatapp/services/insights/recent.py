"""Insights over the last 30 days, and suggested prompts, from the user's own messages.

Both read only what :mod:`chatapp.services.insights.excerpts` chooses (the caller's own
messages, within ``INSIGHT_CONTEXT_TOKENS``). Nothing here is stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flask import current_app
from pydantic import BaseModel, Field, ValidationError

from chatapp import sse
from chatapp.errors import api_error
from chatapp.gemini import ModelError, get_model
from chatapp.models import User, utcnow
from chatapp.schemas import BasedOn
from chatapp.services.insights import events, excerpts, generation

log = logging.getLogger(__name__)
PERIOD = timedelta(days=30)
NOTHING_YET = "No conversations in the last 30 days yet; chat first, then ask again."
SYSTEM = (
    "You give one user of a chat assistant a short, useful insight into the last 30 days of "
    "their conversations, based only on the messages they wrote: recurring themes, progress, "
    "open questions, and one or two concrete suggestions. Write Markdown, address the user "
    "as 'you', and do not invent anything that is not in the messages."
)
PROMPTS_SYSTEM = (
    "Suggest {count} short opening messages this user might want to send a chat assistant "
    "next, following up on their recent messages. Answer with only a JSON array of objects "
    'with the keys "text" (the message, at most 150 characters, in the user\'s voice) and '
    '"category" (one of: {categories}).'
)
Category = Literal["reflection", "planning", "learning", "motivation", "follow-up"]
CATEGORIES = Category.__args__
PROMPT_COUNT = 5
# For a new user, or when the model cannot help.
DEFAULT_PROMPTS: list[tuple[str, Category]] = [
    ("What should I focus on this week?", "planning"),
    ("Help me break a big task into small steps.", "planning"),
    ("Explain something I'm learning, step by step.", "learning"),
    ("Help me reflect on what went well recently.", "reflection"),
    ("How can I stay motivated on a long project?", "motivation"),
]


class Suggestion(BaseModel):
    """One prompt the model suggested."""

    text: str = Field(min_length=1, max_length=300)
    category: Category


def _recent(user: User, budget: int | None = None) -> tuple[excerpts.Excerpts, datetime]:
    """The user's own messages of the last 30 days, and when they were read."""
    now = utcnow()
    return excerpts.collect(user.id, user.timezone, now - PERIOD, now, budget), now


def _based_on(chosen: excerpts.Excerpts) -> BasedOn:
    """What an insight read (seed 003's ``based_on``, for conversations)."""
    return BasedOn(
        conversations_analyzed=chosen.conversations,
        messages_analyzed=chosen.included,
        messages_total=chosen.messages,
        time_period="last_30_days",
    )


def _prompt(chosen: excerpts.Excerpts) -> str:
    """The request for a 30-day insight."""
    return (
        f"In the last 30 days the user wrote {chosen.messages} message(s) in "
        f"{chosen.conversations} conversation(s); the {chosen.included} most recent are "
        f"below, oldest first, with local time and conversation title.\n\n{chosen.text}"
    )


@dataclass(frozen=True)
class Insight:
    """An insight into the last 30 days; ``insights`` is None (with a ``message``) when
    there was nothing to read."""

    insights: str | None
    generated_at: datetime
    based_on: BasedOn
    model: str | None
    message: str | None = None


@dataclass(frozen=True)
class Prompts:
    """Suggested opening messages as (text, category), and where they came from."""

    items: list[tuple[str, str]]
    source: str


def last_30_days(user: User) -> Insight:
    """Return an insight into the user's last 30 days (no model call when there is none)."""
    chosen, now = _recent(user)
    based_on = _based_on(chosen)
    if not chosen.messages:
        return Insight(None, now, based_on, None, NOTHING_YET)
    generation.release_connection()
    model = get_model()
    try:
        text, _ = model.generate(_prompt(chosen), SYSTEM)
        text = generation.require_text(text)
    except ModelError as exc:
        raise api_error(exc) from exc
    return Insight(text, now, based_on, model.name)


def stream(user: User) -> Iterator[sse.Item]:
    """The 30-day insight as SSE events (seed 003): start, content…, end, or error."""
    chosen, now = _recent(user)
    based_on = _based_on(chosen)
    yield events.Start(based_on=based_on)
    if not chosen.messages:
        yield events.NothingToRead(insights=None, message=NOTHING_YET, based_on=based_on)
        return
    generation.release_connection()
    model = get_model()
    reply = model.stream_prompt(_prompt(chosen), SYSTEM)
    text = yield from generation.relay(reply, events.Content)
    if text is not None:
        yield events.End(generated_at=now.isoformat(), based_on=based_on, model=model.name)


def suggested_prompts(user: User) -> Prompts:
    """Suggest opening messages from the user's recent ones; a fixed set otherwise."""
    model = get_model()
    if model.offline:
        return Prompts(DEFAULT_PROMPTS, "default")
    chosen, _ = _recent(user, current_app.config["INSIGHT_CONTEXT_TOKENS"] // 4)
    if not chosen.messages:
        return Prompts(DEFAULT_PROMPTS, "default")
    system = PROMPTS_SYSTEM.format(count=PROMPT_COUNT, categories=", ".join(CATEGORIES))
    generation.release_connection()
    try:
        text, _ = model.generate(f"The user's recent messages:\n\n{chosen.text}", system)
    except ModelError as exc:
        log.info("Prompt suggestions failed (%s); using the defaults", exc.code)
        return Prompts(DEFAULT_PROMPTS, "default")
    suggestions = parse_suggestions(text)[:PROMPT_COUNT]
    if not suggestions:
        return Prompts(DEFAULT_PROMPTS, "default")
    return Prompts([(s.text, s.category) for s in suggestions], "model")


def parse_suggestions(text: str) -> list[Suggestion]:
    """Read the model's JSON array (possibly in a code fence); skip invalid items."""
    raw = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        return []
    suggestions = []
    for item in items if isinstance(items, list) else []:
        try:
            suggestions.append(Suggestion.model_validate(item))
        except ValidationError:
            continue
    return suggestions
