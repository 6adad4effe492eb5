"""Due-logic as plain functions: exact reminder offsets across DST, weekly boundaries, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailbot.calendar.periods import (
    digest_boundaries,
    due_digest,
    due_reminder,
    reminder_occurrences,
)

PARIS = ZoneInfo("Europe/Paris")  # DST ends Sunday 2026-10-25 03:00 CEST -> 02:00 CET
ARMED = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("deadline", "seven_days", "one_day"),
    [
        # just after the change: 7 days before is in summer time, 168 h earlier (19:00 CEST)
        (datetime(2026, 10, 26, 18, 0, tzinfo=PARIS), "2026-10-19T17:00", "2026-10-25T17:00"),
        # on the day of the change: 1 day before is 24 h earlier, 19:00 CEST the day before
        (datetime(2026, 10, 25, 18, 0, tzinfo=PARIS), "2026-10-18T17:00", "2026-10-24T17:00"),
        # just before the change: nothing crosses it
        (datetime(2026, 10, 24, 18, 0, tzinfo=PARIS), "2026-10-17T16:00", "2026-10-23T16:00"),
    ],
)
def test_reminders_fire_at_exact_absolute_offsets(
    deadline: datetime, seven_days: str, one_day: str
) -> None:
    occ = reminder_occurrences(deadline, ["7d", "1d"])
    assert [o.due_at.strftime("%Y-%m-%dT%H:%M") for o in occ] == [seven_days, one_day]
    assert [deadline - o.due_at for o in occ] == [timedelta(hours=168), timedelta(hours=24)]
    for o in occ:
        before = due_reminder(
            now=o.due_at - timedelta(seconds=1),
            deadline=deadline,
            offsets=["7d", "1d"],
            sent=set(),
            armed_at=ARMED,
        )
        assert before is None or before.label != o.label
        at = due_reminder(
            now=o.due_at, deadline=deadline, offsets=["7d", "1d"], sent=set(), armed_at=ARMED
        )
        assert at is not None and at.label == o.label
        assert (
            due_reminder(
                now=o.due_at, deadline=deadline, offsets=["7d", "1d"], sent={o.key}, armed_at=ARMED
            )
            is None
        )


def test_missed_reminders_collapse_into_the_latest_and_stop_at_the_deadline() -> None:
    deadline = datetime(2026, 10, 26, 18, 0, tzinfo=PARIS)
    late = due_reminder(
        now=deadline - timedelta(hours=2),
        deadline=deadline,
        offsets=["7d", "1d"],
        sent=set(),
        armed_at=ARMED,
    )
    assert late is not None and late.label == "1d"
    assert (
        due_reminder(
            now=deadline, deadline=deadline, offsets=["7d", "1d"], sent=set(), armed_at=ARMED
        )
        is None
    )
    # Not armed yet when it fell due: a freshly installed bot does not mail out the past.
    assert (
        due_reminder(
            now=deadline - timedelta(hours=2),
            deadline=deadline,
            offsets=["1d"],
            sent=set(),
            armed_at=deadline - timedelta(hours=3),
        )
        is None
    )


def test_weekly_boundaries_keep_local_time_across_dst() -> None:
    bounds = digest_boundaries(
        opens=datetime(2026, 10, 10, 9, 0, tzinfo=PARIS),
        closes=datetime(2026, 11, 4, 18, 0, tzinfo=PARIS),
        weekday="monday",
        at="08:00",
        tz=PARIS,
    )
    local = [b.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M %Z") for b in bounds]
    assert local == [
        "Mon 2026-10-12 08:00 CEST",
        "Mon 2026-10-19 08:00 CEST",
        "Mon 2026-10-26 08:00 CET",
        "Mon 2026-11-02 08:00 CET",
        "Mon 2026-11-09 08:00 CET",
    ]  # the last is the final digest, after the close
    assert bounds[2] - bounds[1] == timedelta(hours=169)


def test_catch_up_is_one_digest_for_the_latest_period() -> None:
    bounds = [datetime(2026, 11, d, 7, 0, tzinfo=UTC) for d in (2, 9, 16, 23)]
    armed = datetime(2026, 11, 1, tzinfo=UTC)
    now = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)  # down over the 9th and the 16th
    due = due_digest(now=now, boundaries=bounds, last_end=bounds[0], armed_at=armed)
    assert due is not None and due.due_at == bounds[2] and due.key == "2026-11-16T07:00Z"
    assert due_digest(now=now, boundaries=bounds, last_end=bounds[2], armed_at=armed) is None
    assert (
        due_digest(
            now=bounds[3] - timedelta(seconds=1),
            boundaries=bounds,
            last_end=bounds[2],
            armed_at=armed,
        )
        is None
    )
    assert (
        due_digest(now=bounds[3], boundaries=bounds, last_end=bounds[2], armed_at=armed) is not None
    )
