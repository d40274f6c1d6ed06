"""Insight weeks: Saturday 00:00 to Friday 23:59:59 in the user's time zone, kept in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SATURDAY = 5  # date.weekday()


@dataclass(frozen=True)
class Week:
    """One user's week: ``start`` inclusive, ``end`` the last second, both UTC-aware."""

    start: datetime
    end: datetime

    @property
    def stop(self) -> datetime:
        """The first instant after the week (exclusive bound for queries)."""
        return self.end + timedelta(seconds=1)


def week_containing(day: date, zone: str) -> Week:
    """Return the week that contains local calendar ``day`` in ``zone``.

    Bounds are computed from local midnights, so a week with a daylight-saving change is
    167 or 169 hours long.
    """
    tz = ZoneInfo(zone)
    saturday = day - timedelta(days=(day.weekday() - SATURDAY) % 7)
    start = datetime.combine(saturday, time(), tz).astimezone(UTC)
    next_start = datetime.combine(saturday + timedelta(days=7), time(), tz).astimezone(UTC)
    return Week(start, next_start - timedelta(seconds=1))


def week_at(moment: datetime, zone: str) -> Week:
    """Return the week that contains the instant ``moment`` in ``zone``."""
    return week_containing(moment.astimezone(ZoneInfo(zone)).date(), zone)
