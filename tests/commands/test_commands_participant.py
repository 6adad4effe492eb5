"""Participant commands, command routing, deadlines, dkimpy and the decision log CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select
from typer.testing import CliRunner

from mailbot.clock import FrozenClock
from mailbot.models import Contribution, Participant
from mailbot.moderation.deadline import effective_deadline
from tests.commands.commands_support import (
    CHAIR,
    COMMANDS,
    CONTRIB,
    contribute,
    decisions,
    ingest,
    mail,
    moderated_app,
    outbox,
    quoting_reply,
    status,
)


def test_withdraw_by_someone_else_is_refused_and_the_author_confirms(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = moderated_app(database_url, tmp_path, clock, policy="post")
    assert contribute(app, "ann@example.org").outcome == "contribution"
    ingest(
        app, mail(sender="mallory@example.org", to=COMMANDS, subject="WITHDRAW WGIG-0001", body="")
    )
    assert status(app, "WGIG-0001") == "published"
    assert "only its author" in outbox(app, "results")[-1].get_content()
    refused = decisions(app)[-1]
    assert (refused.actor, refused.action, refused.outcome) == (
        "mallory@example.org",
        "withdraw",
        "refused",
    )
    assert outbox(app, "confirm") == []
    # The author asks; a token comes back; a bare reply to it completes the withdrawal.
    ingest(
        app,
        mail(sender="ann@example.org", to=CONTRIB, subject="Re: retirer WGIG-0001", body="Merci"),
    )
    assert status(app, "WGIG-0001") == "published"
    (confirm,) = outbox(app, "confirm")
    assert confirm["To"] == "ann@example.org" and str(confirm["Subject"]).strip().startswith(
        "CONFIRM mbt."
    )
    ingest(app, quoting_reply(confirm, sender="ann@example.org", top="", to=CONTRIB))
    assert status(app, "WGIG-0001") == "withdrawn"
    assert decisions(app)[-1].outcome == "done"
    # The token is single use: the same confirmation again does nothing more.
    ingest(
        app,
        mail(
            sender="ann@example.org",
            to=COMMANDS,
            subject="x",
            body="CONFIRM " + str(confirm["Subject"]).split()[1],
        ),
    )
    assert "already used" in outbox(app, "results")[-1].get_content()


def test_language_subscribe_and_help_in_french(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = moderated_app(database_url, tmp_path, clock, policy="post")
    ingest(
        app,
        mail(
            sender="Luis <luis@example.es>",
            to=COMMANDS,
            subject="hola",
            body="LANGUE fr\nABONNER\nAIDE\nquelque chose",
        ),
    )
    results = outbox(app, "results")[-1]
    assert results["Content-Language"] == "fr"
    text = results.get_content()
    # Luis is not known yet: his answer quotes none of his text (the From may be forged).
    assert "RETIRER" in text and "Non compris" in text and "quelque chose" not in text
    with Session(app.engine) as s:
        person = s.exec(select(Participant).where(Participant.email == "luis@example.es")).first()
        assert person is None or (person.language != "fr" and not person.digest_subscribed)
    # LANGUAGE and SUBSCRIBE from an unproven sender each wait for a confirmation.
    for confirm in outbox(app, "confirm"):
        ingest(app, quoting_reply(confirm, sender="luis@example.es", top=""))
    with Session(app.engine) as s:
        person = s.exec(select(Participant).where(Participant.email == "luis@example.es")).one()
        assert person.digest_subscribed and person.language == "fr"
    clock.advance(timedelta(hours=2))  # past the per-recipient answer limit
    ingest(app, mail(sender="luis@example.es", to=COMMANDS, subject="desuscribir", body=""))
    (confirm,) = [c for c in outbox(app, "confirm") if "unsubscribe" in str(c["Subject"])]
    ingest(app, quoting_reply(confirm, sender="luis@example.es", top=""))
    with Session(app.engine) as s:
        person = s.exec(select(Participant).where(Participant.email == "luis@example.es")).one()
        assert not person.digest_subscribed
    assert outbox(app, "results")[-1]["Content-Language"] == "fr"


def test_subject_keywords_on_the_consultation_address(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = moderated_app(database_url, tmp_path, clock, policy="post")
    for subject in (
        "Help with the mandate",
        "Status of civil society",
        "Close the gap",
        "Extend the mandate",
    ):
        assert (
            ingest(
                app, mail(sender="p@example.org", subject=subject, body="A real contribution.")
            ).outcome
            == "contribution"
        )
    assert (
        ingest(app, mail(sender="p@example.org", subject="Re: ESTADO WGIG-0001", body="")).outcome
        == "command"
    )
    assert ingest(app, mail(sender="q@example.org", subject="temas", body="")).outcome == "command"
    assert "contrib+composition@" in outbox(app, "results")[-1].get_content()


def test_extend_close_stats_and_digest_with_trusted_dkim(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = moderated_app(
        database_url,
        tmp_path,
        clock,
        policy="hold-all",
        trusted_authserv_ids=("mx.caucus.example.org",),
    )
    contribute(app)
    dkim = {
        "Authentication-Results": "mx.caucus.example.org; dkim=pass header.d=caucus.example.org"
    }
    ingest(
        app,
        mail(
            sender=CHAIR,
            to=COMMANDS,
            subject="x",
            headers=dkim,
            body="EXTEND 2027-02-15\nSTATS\nDIGEST NOW\nREFILE WGIG-0001 composition",
        ),
    )
    paris = ZoneInfo("Europe/Paris")
    with Session(app.engine) as s:
        assert effective_deadline(session=s, consultation=app.consultation) == datetime(
            2027, 2, 15, 18, 0, tzinfo=paris
        )
        assert s.exec(select(Contribution.topic)).one() == "composition"
    text = outbox(app, "results")[-1].get_content()
    assert "2027-02-15 18:00 CET" in text and "held: 1" in text and "waiting: WGIG-0001" in text
    assert "DIGEST NOW" in text
    ingest(app, mail(sender=CHAIR, to=COMMANDS, subject="CLOSE", body="", headers=dkim))
    with Session(app.engine) as s:
        assert effective_deadline(session=s, consultation=app.consultation) == clock.now()
    assert [d.action for d in decisions(app)] == [
        "hold",
        "extend",
        "stats",
        "digest",
        "refile",
        "close",
    ]
    assert {d.proof for d in decisions(app)[1:]} == {"dkim:mx.caucus.example.org"}


def test_dkimpy_verifies_when_no_trusted_server(
    database_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    import subprocess

    import dkim

    from mailbot.moderation import auth

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    pub = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    monkeypatch.setattr(
        auth,
        "DKIM_DNS",
        lambda name, timeout=5: record if name == b"sel._domainkey.caucus.example.org." else None,
    )
    app = moderated_app(database_url, tmp_path, clock, verify_dkim=True)
    contribute(app)
    raw = mail(sender=CHAIR, to=COMMANDS, subject="APPROVE WGIG-0001", body="")
    signed = (
        dkim.sign(
            raw,
            b"sel",
            b"caucus.example.org",
            key.read_bytes(),
            include_headers=[b"from", b"to", b"subject"],
        )
        + raw
    )
    ingest(app, signed)
    assert status(app, "WGIG-0001") == "published"
    assert decisions(app)[-1].proof == "dkim:dkimpy"
    # Tampered after signing: refused.
    contribute(app, "zoe@example.org")
    raw2 = mail(sender=CHAIR, to=COMMANDS, subject="STATS", body="")
    signed2 = (
        dkim.sign(
            raw2,
            b"sel",
            b"caucus.example.org",
            key.read_bytes(),
            include_headers=[b"from", b"to", b"subject"],
        )
        + raw2
    )
    ingest(app, signed2.replace(b"Subject: STATS", b"Subject: APPROVE WGIG-0002"))
    assert status(app, "WGIG-0002") == "held"


def test_moderation_log_cli(
    database_url: str, tmp_path: Path, clock: FrozenClock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from mailbot.cli import cli

    app = moderated_app(database_url, tmp_path, clock)
    contribute(app)
    ingest(app, mail(sender=CHAIR, to=COMMANDS, subject="APPROVE WGIG-0001", body=""))
    config = tmp_path / "mailbot.toml"
    source = app.settings.source.read_text()
    config.write_text(source.replace('data_dir = "var"', f'data_dir = "{tmp_path / "var"}"'))
    monkeypatch.setenv("MAILBOT_CONFIG", str(config))
    monkeypatch.setenv("MAILBOT_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["moderation", "log", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [(r["action"], r["outcome"]) for r in rows] == [("hold", "done"), ("approve", "refused")]
    assert rows[1]["actor"] == CHAIR and "no token" in rows[1]["reason"]
