"""The outbox maildir files a Message-ID once: a row sent again after its sender was killed
between the hand-over and `sent` (the lease ran out) does not make a second copy."""

from __future__ import annotations

import mailbox
from pathlib import Path

from mailbot.transport import MaildirTransport

RECEIPT = (
    b"To: ana@example.org\r\nSubject: Received\r\n"
    b"Message-ID: <ack-1@consult.example.org>\r\n\r\nThanks.\r\n"
)


def test_a_receipt_sent_twice_lands_once(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path / "outbox")
    for _ in range(2):
        with transport.connect() as send:
            send(
                mail_from="bounces@consult.example.org", recipients=["ana@example.org"], raw=RECEIPT
            )
    other = RECEIPT.replace(b"ack-1@", b"ack-2@")
    with transport.connect() as send:
        send(mail_from="bounces@consult.example.org", recipients=["ana@example.org"], raw=other)
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    assert sorted(str(m["Message-ID"]) for m in box) == [
        "<ack-1@consult.example.org>",
        "<ack-2@consult.example.org>",
    ]
    assert not any((tmp_path / "outbox" / "tmp").iterdir())


def test_a_batch_is_filed_at_flush_and_twice_in_a_batch_lands_once(tmp_path: Path) -> None:
    """Written to tmp/ as handed over, filed in new/ together at `flush` (one sync)."""
    transport = MaildirTransport(tmp_path / "outbox")
    new = tmp_path / "outbox" / "new"
    with transport.connect() as send:
        for n in (1, 2, 2, 3):
            raw = RECEIPT.replace(b"ack-1@", f"ack-{n}@".encode())
            send(mail_from="bounces@consult.example.org", recipients=["ana@example.org"], raw=raw)
        assert not any(new.iterdir())  # not durable yet: not there
        send.flush()
        assert len(list(new.iterdir())) == 3
        send(mail_from="bounces@consult.example.org", recipients=["ana@example.org"], raw=b"x")
    assert len(list(new.iterdir())) == 4  # closing the connection flushes too
    assert not any((tmp_path / "outbox" / "tmp").iterdir())
