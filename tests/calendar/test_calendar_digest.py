"""The digest as mail: English, French and Spanish contributions in both MIME parts, the list
message and a subscriber's own message (List-Unsubscribe), an empty week."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from mailbot.calendar.registry import run_due_jobs
from mailbot.clock import FrozenClock
from mailbot.models import Contribution, Participant
from mailbot.moderation.models import ModerationDecision
from tests.calendar.calendar_mail import calendar_app, contribute, outbox, parsed, records


def test_multilingual_digest_renders_in_both_parts(tmp_path: Path, database_url: str) -> None:
    clock = FrozenClock(datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    app = calendar_app(
        database_url, tmp_path / "var", clock, calendar={"digest_moderation_stats": True}
    )
    run_due_jobs(app=app)
    contribute(
        app,
        clock,
        datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
        sender="bo@example.org",
        name="Bo",
        subject="[composition] Seats for civil society",
        text="> quoted line\nCivil society needs seats.\nSecond line.",
        lang="en",
        n=1,
    )
    contribute(
        app,
        clock,
        datetime(2026, 11, 11, 9, 0, tzinfo=UTC),
        sender="cl@example.fr",
        name="Claire Dupré",
        subject="[réunion] Réunion ouverte à tous",
        text="Les séances doivent être publiques, ça s'impose.",
        lang="fr",
        n=2,
    )
    contribute(
        app,
        clock,
        datetime(2026, 11, 12, 9, 0, tzinfo=UTC),
        sender="ana@example.es",
        name="",
        subject="[metodos] Transparencia y participación",
        text="Publicar todos los documentos: ¿por qué no?",
        lang="es",
        n=3,
    )
    with Session(app.engine) as s:
        first = s.exec(select(Contribution).where(Contribution.ref == "WGIG-0001")).one()
        reply = s.exec(select(Contribution).where(Contribution.ref == "WGIG-0002")).one()
        # as the threading step would file them: one thread, the reply in its parent's topic
        first.thread_id = reply.thread_id = 77
        reply.topic = "composition"
        s.add_all([first, reply])
        claire = s.exec(select(Participant).where(Participant.email == "cl@example.fr")).one()
        claire.digest_subscribed = True
        s.add(claire)
        for day, action, outcome, reason in [
            (12, "hold", "done", "policy hold-all"),
            (13, "approve", "done", "approve.done"),
            (13, "approve", "done", "approve.already"),
            (14, "reject", "done", "reject.done"),
            (14, "reject", "refused", "no proof"),
            (20, "approve", "done", "approve.done"),
        ]:  # the moderation area's decision log; the last one is after the period
            s.add(
                ModerationDecision(
                    at=datetime(2026, 11, day, 9, 0, tzinfo=UTC),
                    actor="chair@caucus.example.org",
                    action=action,
                    item="WGIG-0009",
                    outcome=outcome,
                    reason=reason,
                )
            )
        s.commit()
    clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=UTC))
    run_due_jobs(app=app)
    to_list, to_claire = outbox(app, "digest")
    assert to_list.recipients == ["caucus@lists.example.org"]
    assert to_claire.recipients == ["cl@example.fr"]
    assert to_claire.dedupe_key.startswith("digest:wgig:2026-11-16T07:00Z:")
    msg = parsed(to_list)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["List-Id"]
    assert msg["List-Unsubscribe"] is None
    plain, html = msg.iter_parts()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    text = plain.get_content().replace("\r\n", "\n")
    page = html.get_content().replace("\r\n", "\n")
    for needle in (
        "Les séances doivent être publiques, ça s'impose.",
        "Publicar todos los documentos: ¿por qué no?",
        "Civil society needs seats. Second line.",
        "Claire Dupré",
        "[WGIG-0003] Transparencia y participación",  # the subject tag left out
    ):
        assert needle in text, needle
    assert "quoted line" not in text
    assert "From: Anonymous" in text  # Ana chose not to give a name
    assert "Thread: Seats for civil society (2 messages)" in text
    # Table of contents, numbered in reading order: the thread first, then the next topic.
    toc = text.split("Contents", 1)[1].split("=====", 1)[0]
    assert re.findall(r"(\d+)\. \[(WGIG-\d+)\]", toc) == [
        ("1", "WGIG-0001"),
        ("2", "WGIG-0002"),
        ("3", "WGIG-0003"),
    ]
    assert "New contributions: 3 (published so far: 3)" in text
    assert "Moderation in this period: 1 held, 1 approved, 1 rejected" in text
    assert "(76 days, 10 hours left)" in text
    assert '<html lang="en">' in page and "<h1 style=" in page and "<img" not in page
    assert '<article id="WGIG-0002" lang="fr" dir="auto">' in page
    assert "Les séances doivent être publiques, ça s'impose." in page
    assert "¿por qué no?" in page
    # Claire's own copy is in French, with List-Unsubscribe.
    mine = parsed(to_claire)
    unsubscribe = "<mailto:contrib-request@consult.example.org?subject=unsubscribe>"
    assert str(mine["List-Unsubscribe"]).strip() == unsubscribe
    assert "Résumé, vol. 1, n° 1" in mine["Subject"]
    plain, html = mine.iter_parts()  # type: ignore[misc]
    assert "Nouvelles contributions : 3" in plain.get_content()
    assert '<html lang="fr">' in html.get_content()


def test_empty_week_sends_a_note_or_nothing(tmp_path: Path, database_url: str) -> None:
    clock = FrozenClock(datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    app = calendar_app(
        database_url, tmp_path / "var", clock, calendar={"digest_when_empty": "skip"}
    )
    run_due_jobs(app=app)
    clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=UTC))
    assert "nothing sent" in (run_due_jobs(app=app)["digest"] or "")
    assert outbox(app, "digest") == []
    (rec,) = records(app, "digest")
    assert rec.issue is None and rec.messages == 0

    note_app = calendar_app(
        database_url.replace("mailbot.sqlite3", "note.sqlite3")
        if database_url.startswith("sqlite")
        else database_url,
        tmp_path / "var2",
        clock,
    )
    if not database_url.startswith("sqlite"):
        return  # one PostgreSQL schema per test: the note case is covered on SQLite
    clock.set(datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    run_due_jobs(app=note_app)
    clock.set(datetime(2026, 11, 16, 7, 0, tzinfo=UTC))
    run_due_jobs(app=note_app)
    (row,) = outbox(note_app, "digest")
    assert (
        "No new contribution was published in this period."
        in parsed(row).get_body(preferencelist=("plain",)).get_content()
    )  # type: ignore[union-attr]
