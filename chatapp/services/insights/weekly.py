"""Weekly insights: the model's review of what a user wrote in one week.

A week runs Saturday 00:00 to Friday 23:59:59 in the user's time zone (see
:mod:`chatapp.services.insights.weeks`). One insight per user and week; ``entry_count``
counts the conversations the user wrote in that week. A week without any is answered
without calling the model. An insight is saved once, when the model's answer is complete;
a failed or abandoned generation saves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chatapp import sse
from chatapp.errors import NotFound, api_error
from chatapp.extensions import db
from chatapp.gemini import ModelError, get_model
from chatapp.models import User, WeeklyInsight, utcnow
from chatapp.schemas import UsageInfo, WeeklyInsightOut
from chatapp.services.insights import events, excerpts, generation
from chatapp.services.insights.weeks import Week, week_at, week_containing

NO_CONVERSATIONS = "No conversations found for this week; chat first, then try again."
SYSTEM = (
    "You write a short weekly review for one user of a chat assistant, based only on the "
    "messages that user wrote during the week. Write Markdown that starts with the heading "
    "'## Your Week in Review', then covers the main themes, progress and open questions, "
    "and ends with one or two concrete suggestions for next week. Address the user as "
    "'you'. Do not invent anything that is not in the messages."
)


@dataclass(frozen=True)
class Outcome:
    """The result of asking for a week's insight."""

    week: Week
    insight: WeeklyInsight | None
    is_existing: bool
    entry_count: int
    message: str | None = None


def current_week(user: User) -> Week:
    """Return the user's week that contains now."""
    return week_at(utcnow(), user.timezone)


def week_of(user: User, day: date | None) -> Week:
    """Return the user's week containing local ``day``, or the current week."""
    return current_week(user) if day is None else week_containing(day, user.timezone)


def find(user_id: int, week: Week) -> WeeklyInsight | None:
    """Return the user's insight for ``week``, if any."""
    return db.session.scalars(
        select(WeeklyInsight).where(
            WeeklyInsight.user_id == user_id, WeeklyInsight.week_start == week.start
        )
    ).first()


def get_insight(user: User, insight_id: int) -> WeeklyInsight:
    """Return one of the user's insights, or 404 (also for someone else's)."""
    insight = db.session.get(WeeklyInsight, insight_id)
    if insight is None or insight.user_id != user.id:
        raise NotFound("Weekly insight")
    return insight


def history(user: User) -> list[WeeklyInsight]:
    """Return the user's insights, newest week first."""
    return list(
        db.session.scalars(
            select(WeeklyInsight)
            .where(WeeklyInsight.user_id == user.id)
            .order_by(WeeklyInsight.week_start.desc())
        )
    )


def delete_insight(user: User, insight_id: int) -> None:
    """Delete one of the user's insights."""
    db.session.delete(get_insight(user, insight_id))
    db.session.commit()


def _prompt(user: User, week: Week, chosen: excerpts.Excerpts) -> str:
    """The request for one week's review."""
    zone = ZoneInfo(user.timezone)
    start = week.start.astimezone(zone).strftime("%A %d %B %Y")
    end = week.end.astimezone(zone).strftime("%A %d %B %Y")
    return (
        f"The week runs from {start} to {end} ({user.timezone}). The user wrote "
        f"{chosen.messages} message(s) in {chosen.conversations} conversation(s); the "
        f"{chosen.included} most recent are below, oldest first, with local time and "
        f"conversation title.\n\n{chosen.text}"
    )


def _collect(user: User, week: Week) -> excerpts.Excerpts:
    """The user's own messages of ``week``, within the budget."""
    return excerpts.collect(user.id, user.timezone, week.start, week.stop)


def generate(user: User, day: date | None = None, force: bool = False) -> Outcome:
    """Return the week's insight: the existing one unless ``force``, else a new one.

    Model failures raise the API's error (nothing is saved).
    """
    week = week_of(user, day)
    existing = find(user.id, week)
    if existing is not None and not force:
        return Outcome(week, existing, True, existing.entry_count)
    chosen = _collect(user, week)
    if not chosen.conversations:
        return Outcome(week, None, False, 0, NO_CONVERSATIONS)
    prompt = _prompt(user, week, chosen)
    generation.release_connection()
    model = get_model()
    try:
        text, _ = model.generate(prompt, SYSTEM)
        text = generation.require_text(text)
    except ModelError as exc:
        raise api_error(exc) from exc
    insight = save(user.id, week, text, chosen.conversations, model.name)
    return Outcome(week, insight, False, chosen.conversations)


def save(user_id: int, week: Week, content: str, entry_count: int, model: str) -> WeeklyInsight:
    """Store the week's insight, replacing an earlier one (one row per user and week)."""
    for _ in range(2):  # a concurrent first save may win the insert; then update its row
        insight = find(user_id, week)
        if insight is None:
            insight = WeeklyInsight(user_id=user_id, week_start=week.start, created_at=utcnow())
            db.session.add(insight)
        insight.week_end = week.end
        insight.content = content
        insight.entry_count = entry_count
        insight.model = model
        insight.updated_at = utcnow()
        try:
            db.session.commit()
            return insight
        except IntegrityError:
            db.session.rollback()
    raise RuntimeError("could not save the weekly insight")


def stream(user: User, force: bool, usage: UsageInfo) -> Iterator[sse.Item]:
    """Generate the current week's insight as SSE events: start, chunk…, done or error.

    An existing insight (unless ``force``) is sent as one chunk. A client that leaves
    ends the generation (``GeneratorExit``) and nothing is saved.
    """
    week = current_week(user)
    existing = find(user.id, week)
    if existing is not None and not force:
        yield _start(week, existing.entry_count, usage, True)
        yield events.Chunk(content=existing.content)
        yield events.Done(insight=WeeklyInsightOut.of(existing))
        return
    chosen = _collect(user, week)
    yield _start(week, chosen.conversations, usage, False)
    if not chosen.conversations:
        yield events.Done(insight=None, message=NO_CONVERSATIONS)
        return
    prompt, user_id = _prompt(user, week, chosen), user.id
    generation.release_connection()
    model = get_model()
    text = yield from generation.relay(model.stream_prompt(prompt, SYSTEM), events.Chunk)
    if text is not None:
        insight = save(user_id, week, text, chosen.conversations, model.name)
        yield events.Done(insight=WeeklyInsightOut.of(insight))


def _start(week: Week, entry_count: int, usage: UsageInfo, existing: bool) -> events.WeekStart:
    """The ``start`` event (seed 003's fields)."""
    return events.WeekStart(
        weekStart=week.start.isoformat(),
        weekEnd=week.end.isoformat(),
        entryCount=entry_count,
        usageInfo=usage,
        isExisting=existing,
    )
