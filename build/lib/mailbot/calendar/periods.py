"""When calendar jobs fall due: plain functions of `now`, the calendar and what was sent.

Nothing here reads a clock or a database, so tests can drive time deterministically; the
APScheduler triggers in `scheduler.py` are computed from the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


@dataclass(frozen=True)
class Occurrence:
    """One firing of a job: its key (unique per kind), when it is due (UTC), a label."""

    key: str
    due_at: datetime
    label: str = ""


def parse_offset(text: str) -> timedelta:
    """'7d' -> 7 days of absolute time (168 h, whatever the clocks do in between)."""
    return int(text[:-1]) * _UNITS[text[-1]]


def period_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def digest_boundaries(
    *, opens: datetime, closes: datetime, weekday: str, at: str, tz: ZoneInfo
) -> list[datetime]:
    """Every weekly boundary (weekday at local wall-clock time, so it follows DST) after the
    opening, up to and including the first one at or after the close (the final digest)."""
    hour, minute = (int(part) for part in at.split(":"))
    day = opens.astimezone(tz).date()
    day += timedelta(days=(WEEKDAYS.index(weekday) - day.weekday()) % 7)
    out: list[datetime] = []
    while True:
        boundary = datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)
        if boundary > opens:
            out.append(boundary)
            if boundary >= closes:
                return out
        day += timedelta(days=7)


def due_digest(
    *,
    now: datetime,
    boundaries: Sequence[datetime],
    last_end: datetime | None,
    armed_at: datetime,
) -> Occurrence | None:
    """The digest due at `now`: only the LATEST boundary passed, so a bot that was down over
    several periods sends one catch-up (its window starts where the last digest ended)."""
    passed = [b for b in boundaries if b <= now]
    if not passed:
        return None
    boundary = passed[-1]
    if boundary < armed_at or (last_end is not None and last_end >= boundary):
        return None
    return Occurrence(period_key(boundary), boundary, "weekly")


def reminder_occurrences(deadline: datetime, offsets: Iterable[str]) -> list[Occurrence]:
    """Offsets are subtracted in absolute time from the aware deadline; the key carries the
    deadline, so an extended deadline gets its own reminders."""
    deadline = deadline.astimezone(UTC)
    occurrences = [
        Occurrence(f"{off}@{period_key(deadline)}", deadline - parse_offset(off), off)
        for off in offsets
    ]
    return sorted(occurrences, key=lambda o: o.due_at)


def due_reminder(
    *,
    now: datetime,
    deadline: datetime,
    offsets: Iterable[str],
    sent: set[str],
    armed_at: datetime,
) -> Occurrence | None:
    """The latest reminder whose time has come, unless sent, stale, or the deadline passed."""
    if now >= deadline:
        return None
    passed = [o for o in reminder_occurrences(deadline, offsets) if o.due_at <= now]
    if not passed or passed[-1].key in sent or passed[-1].due_at < armed_at:
        return None
    return passed[-1]


def time_left(now: datetime, deadline: datetime) -> tuple[int, int, int]:
    """(days, hours, minutes) until the deadline, zero when passed."""
    seconds = max(int((deadline - now).total_seconds()), 0)
    return seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
