"""Outbox and sender: relay down then back, permanent failures, maildir fallback."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.models import OutboxMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.sender import drain, recover
from mailbot.transport import MaildirTransport
from tests.support import CaptureRelay, free_port, make_settings

RAW = (
    b"From: Ana <ana@example.es>\r\nTo: contrib@consult.example.org\r\n"
    b"Subject: [metodos] Transparencia\r\nMessage-ID: <es-1@example.es>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    + b"Creemos que el grupo debe publicar todos sus documentos y que la transparencia es "
    b"esencial para la legitimidad del proceso.\r\n"
)


def outbox(app):  # type: ignore[no-untyped-def]
    with Session(app.engine) as s:
        return list(s.exec(select(OutboxMessage)))


def test_relay_down_then_back_sends_once(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    relay = CaptureRelay()
    relay.start()
    port = relay.port
    relay.stop()  # the relay is down
    app = make_app(
        make_settings(database_url, tmp_path / "var", relay=f"smtp://127.0.0.1:{port}"), clock=clock
    )
    store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
    process_pending(app=app)
    assert drain(app=app) == {"sent": 0, "retry": 1, "failed": 0}
    (row,) = outbox(app)
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in row.last_error
    # Not due yet: nothing is tried.
    assert drain(app=app) == {"sent": 0, "retry": 0, "failed": 0}
    back = CaptureRelay(port=port)
    back.start()
    try:
        clock.advance(timedelta(minutes=1))
        assert drain(app=app)["sent"] == 1
        clock.advance(timedelta(hours=1))
        assert drain(app=app)["sent"] == 0
        assert len(back.messages) == 1
        (row,) = outbox(app)
        assert row.status == "sent" and row.attempts == 2
        assert b"Recibido: [metodos] Transparencia [WGIG-0001]" in back.messages[0].data
    finally:
        back.stop()


def test_permanent_failure_keeps_the_servers_answer(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            return f"550 5.1.1 <{address}>: mailbox unavailable"

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(
            make_settings(database_url, tmp_path / "var", relay=f"smtp://127.0.0.1:{port}"),
            clock=clock,
        )
        store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
        process_pending(app=app)
        assert drain(app=app)["failed"] == 1
        (row,) = [r for r in outbox(app) if r.kind == "ack"]
        assert row.status == "failed" and "550" in row.last_error
        assert "mailbox unavailable" in row.last_error
    finally:
        controller.stop()


def test_without_relay_mail_goes_to_the_maildir(app) -> None:  # type: ignore[no-untyped-def]
    store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
    process_pending(app=app)
    assert drain(app=app)["sent"] == 1
    box = mailbox.Maildir(app.settings.server.outbox_maildir, create=False)
    (msg,) = list(box)
    assert msg["To"] == "ana@example.es"
    assert msg["Auto-Submitted"] == "auto-replied"


def test_rows_interrupted_while_sending_are_recovered(app) -> None:  # type: ignore[no-untyped-def]
    store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
    process_pending(app=app)
    with Session(app.engine) as s:
        row = s.exec(select(OutboxMessage)).one()
        row.status = "sending"  # as left by a crash between claim and send
        s.add(row)
        s.commit()
    assert drain(app=app)["sent"] == 0
    assert recover(app=app) == 1
    assert drain(app=app)["sent"] == 1


def test_utf8_address_is_acknowledged_through_an_smtputf8_relay(
    tmp_path: Path, database_url: str, relay: CaptureRelay, clock: FrozenClock
) -> None:
    app = make_app(make_settings(database_url, tmp_path / "var", relay=relay.url), clock=clock)
    raw = (
        "From: José <josé@exemple.es>\r\nTo: contrib@consult.example.org\r\n"
        "Subject: Participación\r\nMessage-ID: <utf8-1@exemple.es>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "El grupo de trabajo debe incluir a las comunidades locales.\r\n"
    ).encode()
    store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    (outcome,) = process_pending(app=app)
    assert outcome.outcome == "contribution", outcome.reason
    assert drain(app=app)["sent"] == 1
    (captured,) = relay.messages
    assert captured.rcpt_tos == ["josé@exemple.es"]
    assert "To: josé@exemple.es" in captured.data.decode("utf-8")


def test_utf8_message_id_in_references_is_still_acknowledged(app) -> None:  # type: ignore[no-untyped-def]
    raw = (
        "From: Li <li@example.cn>\r\nTo: contrib@consult.example.org\r\n"
        "Subject: 建议\r\nMessage-ID: <建议-1@example.cn>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "The working group should publish its minutes in all UN languages.\r\n"
    ).encode()
    store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    (outcome,) = process_pending(app=app)
    assert outcome.outcome == "contribution", outcome.reason
    (row,) = outbox(app)
    assert row.kind == "ack"
    assert drain(app=app)["sent"] == 1


def test_rows_are_marked_sent_only_after_the_transport_flushed(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    """A row recorded `sent` before its message is durable at the other end would be lost by
    a power cut in between: the sender flushes first, then records."""
    app = make_app(make_settings(database_url, tmp_path / "var"), clock=clock)
    raws = [
        RAW.replace(b"es-1@", f"es-{n}@".encode()).replace(b"ana@", f"a{n}@".encode())
        for n in range(3)
    ]
    store_raw_batch(app=app, items=[RawIn(raw=r, source="test") for r in raws])
    process_pending(app=app)
    inner = MaildirTransport(tmp_path / "box")
    seen: list[set[str]] = []

    class Watched:
        @contextmanager
        def connect(self) -> Iterator[object]:
            with inner.connect() as send:

                class Flushing:
                    def __call__(self, **kw: object) -> None:
                        send(**kw)  # type: ignore[arg-type]

                    def flush(self) -> None:
                        seen.append({r.status for r in outbox(app)})
                        send.flush()

                yield Flushing()

    assert drain(app=app, transport=Watched())["sent"] == 3  # type: ignore[arg-type]
    assert seen and "sent" not in seen[0]  # nothing recorded sent before the flush
    assert {r.status for r in outbox(app)} == {"sent"}
    assert len(list((tmp_path / "box" / "new").iterdir())) == 3
