"""Calendar jobs driven by a frozen clock: reminders at their offsets, one catch-up digest,
late contributions marked or refused, a deadline extension honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from mailbot.calendar.registry import run_due_jobs
from mailbot.clock import FrozenClock
from mailbot.models import Contribution
from tests.calendar.calendar_mail import (
    calendar_app,
    contribute,
    contribute_weekly,
    outbox,
    parsed,
    records,
    text_of,
)

PARIS = ZoneInfo("Europe/Paris")


def test_reminders_at_exact_offsets_across_the_october_dst_change(
    tmp_path: Path, database_url: str
) -> None:
    clock = FrozenClock(datetime(2026, 10, 5, 12, 0, tzinfo=UTC))
    app = calendar_app(
        database_url,
        tmp_path / "var",
        clock,
        consultation={
            "opens": datetime(2026, 10, 1, 9, 0),
            "closes": datetime(2026, 10, 26, 18, 0),
        },
    )
    run_due_jobs(app=app)  # first start: arms the calendar, nothing due
    contribute(
        app,
        clock,
        datetime(2026, 10, 6, 9, 0, tzinfo=UTC),
        sender="ana@example.es",
        name="Ana",
        subject="[metodos] Transparencia",
        text="Publicar todo.",
        lang="es",
        n=1,
    )
    seven = datetime(2026, 10, 19, 17, 0, tzinfo=UTC)  # 168 h before 18:00 CET = 19:00 CEST
    one = datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    for moment, expected in [
        (seven - timedelta(seconds=1), 0),
        (seven, 1),
        (seven + timedelta(hours=1), 1),
        (one - timedelta(seconds=1), 1),
        (one, 2),
        (one + timedelta(hours=20), 2),
    ]:
        clock.set(moment)
        run_due_jobs(app=app)
        assert len(outbox(app, "reminder")) == expected, moment
    first, second = (parsed(r) for r in outbox(app, "reminder"))
    assert first["To"] == "caucus@lists.example.org"
    assert first["Auto-Submitted"] == "auto-generated"
    assert "close in 7 days" in first["Subject"] and "close in 1 day" in second["Subject"]
    body = text_of(first)
    assert "Monday 26 October 2026 at 18:00 CET (Europe/Paris)" in body
    assert "2026-10-26 17:00 UTC" in body
    assert "in 7 days, 0 hours and 0 minutes" in body
    assert "Working methods" in body and "contrib+working-methods@consult.example.org" in body
    assert [r.period for r in records(app, "reminder")] == [
        "7d@2026-10-26T17:00Z",
        "1d@2026-10-26T17:00Z",
    ]


def test_bot_down_over_two_periods_sends_one_catch_up_digest(
    tmp_path: Path, database_url: str
) -> None:
    clock = FrozenClock(datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    app = calendar_app(database_url, tmp_path / "var", clock)
    assert run_due_jobs(app=app) == {
        "digest": None,
        "reminders": None,
        "raw-purge": None,
        "erasure-follow-up": None,
    }
    contribute_weekly(app, clock, count=3)
    # The bot was down from the 4th to the 17th: the boundaries of the 9th and 16th passed.
    clock.set(datetime(2026, 11, 17, 12, 0, tzinfo=UTC))
    done = run_due_jobs(app=app)
    assert done["digest"] and "issue 1" in done["digest"]
    (row,) = outbox(app, "digest")
    assert row.dedupe_key == "digest:wgig:2026-11-16T07:00Z"
    body = text_of(parsed(row))
    assert "WGIG-0001" in body and "WGIG-0002" in body and "WGIG-0003" not in body
    assert "Period covered: 2026-11-01 09:00 CET to 2026-11-16 08:00 CET" in body
    # Restarting right after sends nothing more, even an hour later.
    assert run_due_jobs(app=app)["digest"] is None
    clock.advance(timedelta(hours=1))
    assert run_due_jobs(app=app)["digest"] is None
    assert len(outbox(app, "digest")) == 1
    # The next boundary sends issue 2, starting where issue 1 ended.
    clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    run_due_jobs(app=app)
    _, second = outbox(app, "digest")
    body = text_of(parsed(second))
    assert "Issue 2" in parsed(second)["Subject"]
    assert "WGIG-0003" in body and "WGIG-0001" not in body
    recs = records(app, "digest")
    assert [r.issue for r in recs] == [1, 2]


def test_late_contribution_is_marked_and_told_so(tmp_path: Path, database_url: str) -> None:
    clock = FrozenClock()
    app = calendar_app(database_url, tmp_path / "var", clock)
    contribute(
        app,
        clock,
        datetime(2027, 1, 31, 17, 1, tzinfo=UTC),  # 18:01 in Paris
        sender="ana@example.es",
        name="Ana",
        subject="[metodos] Tarde",
        text="Llego tarde.",
        lang="es",
        n=1,
    )
    with Session(app.engine) as s:
        c = s.exec(select(Contribution)).one()
    assert c.late and c.status == "published"
    (ack,) = outbox(app, "ack")
    assert "se marca como tardía" in text_of(parsed(ack))


def test_refuse_policy_replies_politely(tmp_path: Path, database_url: str) -> None:
    clock = FrozenClock()
    app = calendar_app(database_url, tmp_path / "var", clock, calendar={"late_policy": "refuse"})
    contribute(
        app,
        clock,
        datetime(2027, 1, 31, 16, 59, tzinfo=UTC),
        sender="bo@example.org",
        name="Bo",
        subject="[composition] On time",
        text="Just in time.",
        lang="en",
        n=1,
    )
    contribute(
        app,
        clock,
        datetime(2027, 1, 31, 17, 1, tzinfo=UTC),
        sender="cl@example.fr",
        name="Claire",
        subject="[réunion] En retard",
        text="Je suis en retard.",
        lang="fr",
        n=2,
    )
    with Session(app.engine) as s:
        on_time, late = s.exec(select(Contribution).order_by(Contribution.id)).all()  # type: ignore[arg-type]
    assert (on_time.late, on_time.status) == (False, "published")
    assert (late.late, late.status) == (True, "refused")
    assert [r.dedupe_key for r in outbox(app, "ack")] == ["ack:WGIG-0001"]
    (notice,) = outbox(app, "notice")
    msg = parsed(notice)
    assert notice.dedupe_key == "late-refused:WGIG-0002"
    assert msg["To"] == "Claire <cl@example.fr>" or msg["To"] == "cl@example.fr"
    assert msg["In-Reply-To"] == "<cal-2@example.net>"
    assert "Non acceptée" in msg["Subject"]
    body = text_of(msg)
    assert "n'a pas été accepté" in body and "31/01/2027 18:00 CET" in body


def test_deadline_extension_is_honoured(tmp_path: Path, database_url: str) -> None:
    from mailbot.moderation.models import DeadlineOverride

    clock = FrozenClock()
    app = calendar_app(database_url, tmp_path / "var", clock)
    with Session(app.engine) as s:
        s.add(
            DeadlineOverride(
                consultation_id="wgig",
                set_by="chair@caucus.example.org",
                closes_at=datetime(2027, 2, 7, 17, 0, tzinfo=UTC),
                set_at=clock.now(),
                command="extend",
            )
        )
        s.commit()
    contribute(
        app,
        clock,
        datetime(2027, 2, 3, 12, 0, tzinfo=UTC),
        sender="bo@example.org",
        name="Bo",
        subject="[composition] After the old close",
        text="Still open.",
        lang="en",
        n=1,
    )
    with Session(app.engine) as s:
        assert s.exec(select(Contribution.late)).one() is False
