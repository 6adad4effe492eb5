"""The SMTP/LMTP listener with a real smtplib client against the real bot (`serve`)."""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
import ssl
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select

from mailbot.boot import make_app
from mailbot.db import sqlite_file
from mailbot.models import Contribution, OutboxMessage, RawMessage
from tests.support import CaptureRelay, make_settings, wait_for

FRENCH = (
    b"From: =?iso-8859-1?q?Ren=E9e_Lef=E8vre?= <renee@example.fr>\r\n"
    b"To: contrib@consult.example.org\r\n"
    b"Subject: =?iso-8859-1?q?=5Bcomposition=5D_Repr=E9sentation_des_r=E9gions?=\r\n"
    b"Message-ID: <fr-1@example.fr>\r\n"
    b"Date: Fri, 20 Nov 2026 12:00:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    + "Nous pensons que le groupe de travail doit être composé de représentants de toutes "
    "les régions, et que la société civile doit y avoir une place égale.\r\n".encode("latin-1")
)


def simple(n: int, *, to: str = "contrib@consult.example.org", size: int = 0) -> bytes:
    body = f"This is contribution number {n} about the working group and its methods.\r\n"
    return (
        f"From: Person {n} <p{n}@example.org>\r\nTo: {to}\r\nSubject: Idea {n}\r\n"
        f"Message-ID: <idea-{n}@example.org>\r\n\r\n{body}"
    ).encode() + (b"x" * 70 + b"\r\n") * (size // 72)


def send(port: int, raw: bytes, *, rcpt: str = "contrib@consult.example.org") -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail("sender@example.org")
        code, msg = client.rcpt(rcpt)
        if code != 250:
            return code, msg
        return client.data(raw)


def count(app, model, *where):  # type: ignore[no-untyped-def]
    with Session(app.engine) as s:
        return len(list(s.exec(select(model).where(*where))))


def test_french_contribution_end_to_end(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory
) -> None:  # type: ignore[no-untyped-def]
    app = make_app(make_settings(database_url, tmp_path / "var", relay=relay.url))
    bot = bot_factory(app)
    code, _ = send(bot.port, FRENCH)
    assert code == 250
    # 250 means on disk: committed, or on SQLite in the listener's spool (stored next).
    assert wait_for(lambda: count(app, RawMessage) == 1)
    # The first message also waits for the pipeline's process to start (its imports).
    assert wait_for(lambda: relay.messages, timeout=30), "no acknowledgement reached the relay"
    assert count(app, RawMessage) == 1
    with Session(app.engine) as s:
        (contribution,) = s.exec(select(Contribution)).all()
    assert contribution.ref == "WGIG-0001"
    assert contribution.topic == "composition" and contribution.topic_rule == "tag"
    assert contribution.language == "fr"
    assert contribution.subject == "[composition] Représentation des régions"

    (captured,) = relay.messages
    assert captured.rcpt_tos == ["renee@example.fr"]
    ack = email.message_from_bytes(captured.data, policy=email.policy.default)
    assert ack["In-Reply-To"] == "<fr-1@example.fr>"
    assert "<fr-1@example.fr>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"].endswith("@consult.example.org>")
    # A receipt is personal mail: no list headers, so clients do not file it as list mail.
    assert ack["List-Id"] is None and ack["Precedence"] is None and ack["X-Loop"]
    assert ack["Content-Language"] == "fr"
    assert ack["Subject"].startswith("Reçu : [composition] Représentation des régions [WGIG-0001]")
    body = ack.get_content()
    assert "Référence de suivi : WGIG-0001" in body
    assert contribution.text_sha256 in body
    assert "Date limite" in body and "31/01/2027 18:00 CET" in body

    # Sent exactly once and marked so (recorded just after the relay's 250, so waited for).
    def outbox() -> list[OutboxMessage]:
        with Session(app.engine) as s:
            return list(s.exec(select(OutboxMessage)).all())

    assert wait_for(lambda: outbox()[0].status == "sent", timeout=30)
    (row,) = outbox()
    assert row.status == "sent" and row.attempts == 1
    assert len(relay.messages) == 1


def test_unknown_recipient_is_refused_at_rcpt(app, bot_factory) -> None:  # type: ignore[no-untyped-def]
    bot = bot_factory(app)
    code, msg = send(bot.port, simple(1), rcpt="nobody@consult.example.org")
    assert code == 550 and b"5.1.1" in msg
    assert count(app, RawMessage) == 0


def test_subaddress_and_command_address_are_accepted(app, bot_factory) -> None:  # type: ignore[no-untyped-def]
    bot = bot_factory(app)
    assert send(bot.port, simple(1), rcpt="contrib+composition@consult.example.org")[0] == 250
    assert send(bot.port, simple(2), rcpt="CONTRIB-REQUEST@consult.example.org")[0] == 250


def test_oversize_message_gets_552(tmp_path: Path, database_url: str, bot_factory) -> None:  # type: ignore[no-untyped-def]
    app = make_app(make_settings(database_url, tmp_path / "var", max_message_size=20_000))
    bot = bot_factory(app)
    code, _ = send(bot.port, simple(1, size=50_000))
    assert code == 552
    assert send(bot.port, simple(2, size=1_000))[0] == 250
    assert wait_for(lambda: count(app, RawMessage) == 1)


def test_duplicate_delivery_is_stored_once(app, bot_factory) -> None:  # type: ignore[no-untyped-def]
    bot = bot_factory(app)
    raw = simple(7)
    assert send(bot.port, raw)[0] == 250
    assert wait_for(lambda: count(app, RawMessage) == 1)  # stored (SQLite: from the spool)
    # A second hop adds a Received header: still the same message.
    code, msg = send(bot.port, b"Received: from relay2 by mx; Fri, 20 Nov 2026\r\n" + raw)
    assert code == 250 and b"duplicate" in msg
    assert count(app, RawMessage) == 1
    wait_for(lambda: count(app, Contribution) == 1)
    assert count(app, Contribution) == 1
    assert count(app, OutboxMessage) == 1


def test_storage_failure_answers_451_and_the_retry_is_stored(app, bot_factory, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="mailbot.groupcommit")
    bot = bot_factory(app)
    spooled = sqlite_file(app.settings.server.db_url) is not None
    # A real fault: the table is gone while the client delivers.
    with app.engine.begin() as conn:
        conn.execute(text("ALTER TABLE raw_message RENAME TO raw_message_away"))
    code, msg = send(bot.port, simple(3))
    # PostgreSQL: the commit fails, 451. SQLite: the 250 waits for the spool, so the first
    # message is on disk (250); the spool's storer then finds the database down, and the
    # next deliveries get 451 until it is back, instead of piling up in the spool.
    assert code == (250 if spooled else 451), msg
    assert wait_for(lambda: send(bot.port, simple(4))[0] == 451, timeout=15)
    with app.engine.begin() as conn:
        conn.execute(text("ALTER TABLE raw_message_away RENAME TO raw_message"))
    # The sending servers' retries: accepted once the database is back; the spooled #3 is
    # stored meanwhile, without anyone restarting the listener.
    assert wait_for(lambda: send(bot.port, simple(4))[0] == 250, timeout=15)
    if not spooled:
        assert send(bot.port, simple(3))[0] == 250  # its sender's retry
    assert wait_for(lambda: count(app, RawMessage) == 2)
    assert wait_for(lambda: count(app, Contribution) == 2)
    code, msg = send(bot.port, simple(3))  # one more resend of #3: stored once
    assert code == 250 and b"duplicate" in msg
    assert count(app, RawMessage) == 2
    if spooled:  # the outage is logged once, however many retries it took, and its end too
        said = [r.getMessage() for r in caplog.records]
        assert sum("the database is down" in m for m in said) == 1, said
        assert sum("the database is back" in m for m in said) == 1, said


def test_lmtp_mode_answers_per_recipient(tmp_path: Path, database_url: str, bot_factory) -> None:  # type: ignore[no-untyped-def]
    app = make_app(make_settings(database_url, tmp_path / "var", protocol="lmtp"))
    bot = bot_factory(app)
    client = smtplib.LMTP("127.0.0.1", bot.port)
    try:
        assert client.ehlo()[0] == 250  # smtplib's LMTP sends LHLO here
        client.mail("s@example.org")
        assert client.rcpt("contrib@consult.example.org")[0] == 250
        assert client.rcpt("contrib+composition@consult.example.org")[0] == 250
        assert client.rcpt("stranger@consult.example.org")[0] == 550
        # RFC 2033: one reply per accepted recipient after the final dot.
        first = client.data(simple(9))
        second = client.getreply()
        assert first[0] == 250 and second[0] == 250
    finally:
        client.close()
    assert wait_for(lambda: count(app, RawMessage) == 1)


def test_starttls_when_a_certificate_is_configured(
    tmp_path: Path, database_url: str, bot_factory
) -> None:  # type: ignore[no-untyped-def]
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    app = make_app(
        make_settings(database_url, tmp_path / "var", tls_cert=str(cert), tls_key=str(key))
    )
    bot = bot_factory(app)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with smtplib.SMTP("127.0.0.1", bot.port) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        client.sendmail("s@example.org", ["contrib@consult.example.org"], simple(11))
    assert wait_for(lambda: count(app, RawMessage) == 1)


def test_250_only_once_stored_under_concurrency(app, bot_factory) -> None:  # type: ignore[no-untyped-def]
    import concurrent.futures

    bot = bot_factory(app)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda n: send(bot.port, simple(n))[0], range(40)))
    assert codes == [250] * 40
    assert wait_for(lambda: count(app, RawMessage) == 40)  # SQLite: from the spool
    assert wait_for(lambda: count(app, OutboxMessage) == 40, timeout=30)
