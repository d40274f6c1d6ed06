"""Week boundaries: Saturday 00:00 to Friday 23:59:59 in the user's zone, stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from chatapp.services import accounts
from chatapp.services.insights import weekly
from chatapp.services.insights.weeks import week_containing
from tests.support.data import add_messages, set_timezone
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local(zone: ZoneInfo, *parts: int) -> datetime:
    """An aware local time."""
    return datetime(*parts, tzinfo=zone)


@pytest.mark.parametrize("day", [date(2026, 11, 21) + timedelta(days=n) for n in range(7)])
def test_every_day_of_the_week_maps_to_its_saturday(day: date) -> None:
    """Saturday through Friday share one week that starts at local Saturday midnight."""
    week = week_containing(day, "America/New_York")
    assert week.start == local(NEW_YORK, 2026, 11, 21)
    assert week.end == local(NEW_YORK, 2026, 11, 27, 23, 59, 59)
    assert week.start.tzinfo == UTC and week.end.tzinfo == UTC


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("America/New_York", date(2026, 3, 9), 167),  # clocks go forward on Sunday 8 March
        ("America/New_York", date(2026, 11, 2), 169),  # and back on Sunday 1 November
        ("Europe/Berlin", date(2026, 10, 27), 169),  # back on Sunday 25 October
        ("UTC", date(2026, 10, 27), 168),
    ],
)
def test_daylight_saving_weeks_follow_local_midnights(zone: str, day: date, hours: int) -> None:
    """A week with a clock change is an hour shorter or longer, bounded by local midnights."""
    week = week_containing(day, zone)
    assert week.stop - week.start == timedelta(hours=hours)
    for bound in (week.start, week.stop):
        moment = bound.astimezone(ZoneInfo(zone))
        assert (moment.weekday(), moment.hour, moment.minute) == (5, 0, 0)


def _generate(app: Flask, day: date) -> tuple[datetime, datetime, int]:
    """Generate alice's insight for the week of ``day``; return its bounds and entry count."""
    with app.app_context():
        user = accounts.find_user("alice")
        assert user is not None
        insight = weekly.generate(user, day).insight
        assert insight is not None
        return insight.week_start, insight.week_end, insight.entry_count


def test_friday_2359_and_saturday_0000_fall_in_different_weeks(
    app: Flask, wire: GeminiWireServer
) -> None:
    """In New York, Friday 23:59 (already Saturday in UTC) belongs to the earlier week."""
    set_timezone(app, "alice", "America/New_York")
    add_messages(app, "alice", ("friday late", local(NEW_YORK, 2026, 11, 20, 23, 59)))
    add_messages(app, "alice", ("saturday early", local(NEW_YORK, 2026, 11, 21, 0, 0)))
    wire.script(Reply(text="Later week."), Reply(text="Earlier week."))
    later = _generate(app, date(2026, 11, 21))
    assert "saturday early" in wire.contents(0)[-1][1]
    assert "friday late" not in wire.contents(0)[-1][1]
    earlier = _generate(app, date(2026, 11, 20))
    assert "friday late" in wire.contents(1)[-1][1]
    assert "saturday early" not in wire.contents(1)[-1][1]
    assert later == (local(NEW_YORK, 2026, 11, 21), local(NEW_YORK, 2026, 11, 27, 23, 59, 59), 1)
    assert earlier[1:] == (local(NEW_YORK, 2026, 11, 20, 23, 59, 59), 1)


def test_dst_week_includes_its_last_hour(app: Flask, wire: GeminiWireServer) -> None:
    """Berlin's 169-hour week of 24 October 2026 keeps Friday 23:30 CET and not Saturday."""
    set_timezone(app, "alice", "Europe/Berlin")
    add_messages(app, "alice", ("before the change", local(BERLIN, 2026, 10, 24, 0, 30)))
    add_messages(app, "alice", ("last friday hour", local(BERLIN, 2026, 10, 30, 23, 30)))
    add_messages(app, "alice", ("next saturday", local(BERLIN, 2026, 10, 31, 0, 0)))
    _, _, entry_count = _generate(app, date(2026, 10, 25))
    sent = wire.contents(0)[-1][1]
    assert "before the change" in sent and "last friday hour" in sent
    assert "next saturday" not in sent
    assert entry_count == 2
