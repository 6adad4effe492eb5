"""PUBLISH, a moderator's ERASE with its reason, ERASE ALL, a digest queued but not sent,
raw-mail retention and `mailbot privacy report|purge`, through the pipeline."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.calendar.digest_mail import send_digest_now
from mailbot.calendar.registry import run_job
from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.models import Contribution, OutboxMessage, Participant, RawMessage
from mailbot.moderation.tokens import TOKEN_RE
from mailbot.privacy.config import Privacy
from mailbot.privacy.models import Erasure
from mailbot.publish import store
from tests.commands.commands_support import (
    CHAIR,
    COMMANDS,
    contribute,
    decisions,
    ingest,
    mail,
    outbox,
)
from tests.support import make_settings

ANN = "ann@example.org"
TEXT = "Rotating the chair between the five regions keeps the group balanced."


def results(app: App) -> str:
    return outbox(app, "results")[-1].get_content()


def confirm(app: App, sender: str) -> None:
    """Send back the token of the last confirmation request, as its recipient would."""
    token = TOKEN_RE.search(str(outbox(app, "confirm")[-1]["Subject"]))
    assert token
    ingest(app, mail(sender=sender, to=COMMANDS, subject=f"CONFIRM {token.group(0)}", body=""))


def contribution(app: App, ref: str) -> Contribution:
    with Session(app.engine) as s:
        return s.exec(select(Contribution).where(Contribution.ref == ref)).one()


def authors(app: App) -> dict[str, str | None]:
    with Session(app.engine) as s:
        plan = store.plan(session=s, consultation_id=app.consultation.id)
    return {ref: e.author for ref, e in plan.entries.items()}


def test_publish_changes_the_choice_only_for_the_author(app: App) -> None:
    contribute(app, sender=f"Ann Lee <{ANN}>", text=TEXT)
    assert authors(app) == {"WGIG-0001": "Ann Lee"}
    ingest(
        app,
        mail(sender="mallory@example.org", to=COMMANDS, subject="PUBLISH WGIG-0001 NAME", body=""),
    )
    assert "only its author" in results(app)
    ingest(app, mail(sender=ANN, to=COMMANDS, subject="PUBLIER WGIG-0001 ANONYME", body=""))
    assert "published without your name (anonymous)" in results(app)
    assert authors(app) == {"WGIG-0001": None}
    ingest(app, mail(sender=ANN, to=COMMANDS, subject="PUBLISH WGIG-0001 CONFIDENTIAL", body=""))
    assert authors(app) == {}  # confidential: not published at all
    # Showing the name again: the mailbox confirms (a forged From cannot).
    ingest(app, mail(sender=ANN, to=COMMANDS, subject="PUBLISH WGIG-0001 NAME", body=""))
    assert "reply to it to publish your name" in results(app)
    assert authors(app) == {}
    confirm(app, ANN)
    assert authors(app) == {"WGIG-0001": "Ann Lee"}
    assert [d.actor for d in decisions(app) if d.action == "publish"] == ["author"] * 3


def test_a_moderator_erases_with_a_reason_confirmed_by_token(app: App) -> None:
    contribute(app, sender=f"Ann Lee <{ANN}>", text=TEXT)
    ingest(app, mail(sender="mallory@example.org", to=COMMANDS, subject="ERASE WGIG-0001", body=""))
    assert "Refused" in results(app)
    ingest(app, mail(sender=CHAIR, to=COMMANDS, subject="ERASE WGIG-0001", body=""))
    assert "must give a reason" in results(app)
    ingest(app, mail(sender=CHAIR, to=COMMANDS, subject="ERASE WGIG-0001 defamatory", body=""))
    assert contribution(app, "WGIG-0001").erased_at is None  # not before the token
    assert CHAIR in outbox(app, "confirm")[-1]["To"]
    confirm(app, CHAIR)
    erased = contribution(app, "WGIG-0001")
    assert erased.erased_at is not None and TEXT not in erased.text and erased.author_name is None
    (logged,) = [d for d in decisions(app) if d.action == "erase" and d.outcome == "done"]
    assert logged.actor == CHAIR and logged.reason == "defamatory"
    with Session(app.engine) as s:
        assert s.exec(select(Participant).where(Participant.email == ANN)).first() is None
        (erasure,) = s.exec(select(Erasure)).all()
        assert erasure.requested_by == "moderator" and erasure.reason == "defamatory"
    assert authors(app) == {"WGIG-0001": None}  # still in its thread, without a name


def test_erase_all_and_a_digest_not_yet_sent(app: App) -> None:
    contribute(app, sender=f"Ann Lee <{ANN}>", text=TEXT)
    contribute(
        app, sender=f"Ann Lee <{ANN}>", text="A second thought about the secretariat budget."
    )
    contribute(
        app, sender="Bo <bo@example.org>", text="Remote participation must be free of charge."
    )
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]  # FrozenClock
    with Session(app.engine) as s:
        assert send_digest_now(app=app, session=s)
        s.commit()
    before = [r for r in pending_digests(app)]
    assert before and all(TEXT.encode() in r for r in before)
    ingest(app, mail(sender=ANN, to=COMMANDS, subject="ERASE ALL", body=""))
    confirm(app, ANN)
    assert {contribution(app, r).erased_at is not None for r in ("WGIG-0001", "WGIG-0002")} == {
        True
    }
    assert contribution(app, "WGIG-0003").erased_at is None
    after = pending_digests(app)
    assert after and not any(TEXT.encode() in r or b"Ann Lee" in r for r in after)
    assert all(b"Remote participation" in r for r in after)  # the others stay


def pending_digests(app: App) -> list[bytes]:
    """The digests' text parts, decoded (they may be base64)."""
    from email import message_from_bytes, policy

    found = []
    with Session(app.engine) as s:
        rows = s.exec(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "digest")
            .where(col(OutboxMessage.status) == "pending")
        ).all()
        for row in rows:
            msg = message_from_bytes(row.raw, policy=policy.default)
            parts = [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
            found.append("\n".join(parts).encode())
    return found


def run(database_url: str, data_dir: Path, *args: str) -> str:
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(data_dir),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_retention_purges_raw_mail_after_closing_and_the_report(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "var")
    settings = settings.model_copy(update={"privacy": Privacy(keep_raw_days=30)})
    clock = FrozenClock()
    app = make_app(settings, clock=clock)
    try:
        contribute(app, sender=f"Ann Lee <{ANN}>", text=TEXT)
        report = json.loads(run(database_url, tmp_path / "var", "privacy", "report", ANN))
        assert report["participant"]["display_name"] == "Ann Lee"
        assert [c["ref"] for c in report["contributions"]] == ["WGIG-0001"]
        assert report["sent_to"][0]["kind"] == "ack"

        assert run_job(app=app, name="raw-purge") is None  # the consultation is open
        clock.set(settings.consultation.closes_at + timedelta(days=30, minutes=1))
        assert run_job(app=app, name="raw-purge") == "raw mail purged: 1 message(s)"
        assert run_job(app=app, name="raw-purge") is None  # once
        with Session(app.engine) as s:
            raw = s.exec(select(RawMessage)).one()
            assert raw.raw == b"" and len(raw.content_sha256) == 64
        kept = contribution(app, "WGIG-0001")
        assert kept.text == TEXT and authors(app) == {"WGIG-0001": "Ann Lee"}
        done = json.loads(run(database_url, tmp_path / "var", "privacy", "purge", "--force"))
        assert done == {"raw_purged": 0, "erasures_completed": 0}
    finally:
        app.engine.dispose()
