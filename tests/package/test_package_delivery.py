"""Outgoing mail that arrives: a relay down for longer than the first retries, a queue lifetime
that ends in a report to the moderators, `outbox retry`, relay TLS with a CA file."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select
from typer.testing import CliRunner

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.delivery import REPORT_KIND
from mailbot.models import OutboxMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.sender import drain
from mailbot.transport import from_settings
from tests.package.postfix_support import make_ca
from tests.support import CaptureRelay, free_port, make_settings

runner = CliRunner()


def contribution(n: int) -> bytes:
    return (
        f"From: P{n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: [general] Point {n}\r\nMessage-ID: <p-{n}@example.org>\r\n\r\n"
        f"Contribution number {n} on the general questions of the consultation.\r\n"
    ).encode()


def rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    with Session(app.engine) as s:
        found = list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))  # type: ignore[arg-type]
    return [r for r in found if kind is None or r.kind == kind]


def file_three(app: App) -> None:
    store_raw_batch(app=app, items=[RawIn(raw=contribution(n), source="test") for n in (1, 2, 3)])
    process_pending(app=app)


def test_relay_down_past_first_retries_then_back_delivers_each_once(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    port = free_port()  # nothing listens: the relay is down
    settings = make_settings(database_url, tmp_path / "var", relay=f"smtp://127.0.0.1:{port}")
    app = make_app(settings, clock=clock)
    file_three(app)
    tries = 0
    for _ in range(8):  # about 2 hours of backoff, well past the first retries
        counts = drain(app=app)
        tries += counts["retry"]
        assert counts["sent"] == 0 and counts["failed"] == 0
        clock.advance(timedelta(minutes=20))
    assert tries >= 3 * 4
    assert {r.status for r in rows(app)} == {"pending"}
    relay = CaptureRelay(port=port)
    relay.start()
    try:
        clock.advance(timedelta(hours=7))
        assert drain(app=app)["sent"] == 3
        clock.advance(timedelta(days=1))
        assert drain(app=app) == {"sent": 0, "retry": 0, "failed": 0}
        refs = sorted(m.data.split(b"[WGIG-")[1][:4] for m in relay.messages)
        assert refs == [b"0001", b"0002", b"0003"]  # each receipt once
        assert all(r.status == "sent" for r in rows(app))
    finally:
        relay.stop()


def test_queue_lifetime_then_moderators_told_and_outbox_retry_resends(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    port = free_port()
    settings = make_settings(
        database_url, tmp_path / "var", relay=f"smtp://127.0.0.1:{port}", queue_lifetime="2h"
    )
    app = make_app(settings, clock=clock)
    file_three(app)
    for _ in range(20):
        drain(app=app)
        clock.advance(timedelta(minutes=15))
    acks = rows(app, "ack")
    assert [r.status for r in acks] == ["failed"] * 3
    assert all("gave up after" in (r.last_error or "") for r in acks)
    assert all("in 2h" in (r.last_error or "") for r in acks)
    reports = rows(app, REPORT_KIND)
    assert len(reports) == 3  # one per failed receipt, to the moderators
    assert reports[0].recipients == list(settings.consultation.moderators)
    report = email.message_from_bytes(reports[0].raw, policy=email.policy.default)
    assert "undeliverable" in str(report["Subject"])
    assert f"mailbot outbox retry {acks[0].id}" in report.get_content()
    # The reports failed too (same relay): they are logged, never reported again (no loop).
    assert len(rows(app, REPORT_KIND)) == 3

    relay = CaptureRelay(port=port)
    relay.start()
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
    }
    try:
        one = runner.invoke(cli, ["outbox", "retry", str(acks[0].id)], env=env)
        assert one.exit_code == 0, one.output
        clock.set(datetime.now(UTC) + timedelta(seconds=1))  # the CLI ran on the real clock
        assert drain(app=app)["sent"] == 1
        rest = runner.invoke(cli, ["outbox", "retry", "--failed"], env=env)
        assert rest.exit_code == 0 and "queued again" in rest.stdout
        clock.set(datetime.now(UTC) + timedelta(seconds=1))
        assert drain(app=app)["sent"] == 2 + 3  # the two receipts and the three reports
        to = sorted(tuple(m.rcpt_tos) for m in relay.messages)
        assert to.count(("p1@example.org",)) == 1  # once, though retried by id and by --failed
        assert to.count(("p2@example.org",)) == to.count(("p3@example.org",)) == 1
        assert all(r.status == "sent" for r in rows(app))
        again = runner.invoke(cli, ["outbox", "retry", str(acks[0].id)], env=env)
        assert again.exit_code == 1 and "not failed" in again.stderr
    finally:
        relay.stop()


def test_starttls_relay_with_own_ca(tmp_path: Path) -> None:
    import ssl

    from aiosmtpd.controller import Controller

    ca, cert, key = make_ca(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    got: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            got.append(envelope.original_content)
            return "250 kept"

    port = free_port()
    controller = Controller(
        Keep(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        mail = b"From: a@consult.example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nhi\r\n"
        relay = f"smtp://127.0.0.1:{port}"
        # Without the CA the certificate cannot be verified: a temporary failure, kept.
        plain = from_settings(relay=relay, maildir=tmp_path, tls="starttls")
        try:
            with plain.connect() as send:
                send(mail_from="a@consult.example.org", recipients=["b@example.org"], raw=mail)
            raise AssertionError("an unverified certificate was accepted")
        except Exception as exc:
            assert "certificate verify failed" in str(exc)
        trusted = from_settings(relay=relay, maildir=tmp_path, tls="starttls", ca_file=ca)
        with trusted.connect() as send:
            send(mail_from="a@consult.example.org", recipients=["b@example.org"], raw=mail)
        assert len(got) == 1
    finally:
        controller.stop()


def test_site_templates_dir_overrides_one_file(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    site = tmp_path / "site-templates" / "en"
    site.mkdir(parents=True)
    (site / "ack.txt").write_text("Subject: Thanks, filed as {{ ref }}\n\nOur own words.\n")
    settings = make_settings(database_url, tmp_path / "var", templates_dir=str(site.parent))
    app = make_app(settings, clock=clock)
    file_three(app)
    ack = email.message_from_bytes(rows(app, "ack")[0].raw, policy=email.policy.default)
    assert ack["Subject"] == "Thanks, filed as WGIG-0001"
    assert ack.get_content().strip() == "Our own words."
    # Every other template still comes from the package (help, digest, archive pages).
    assert settings.server.templates[1].joinpath("en", "help.txt").is_file()
