"""mailbot behind a real Postfix, as deployed: a contribution sent to Postfix reaches mailbot
over LMTP (through the generated transport and recipient maps), is filed, and its DKIM-signed
receipt goes out through Postfix (STARTTLS with a certificate from our own CA, given to mailbot
as relay_ca_file) and arrives at the participant's server verifiable against the DNS record."""

from __future__ import annotations

import email
import email.policy
import shutil
import smtplib
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from sqlmodel import Session, select

from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.models import Contribution
from mailbot.postfix import main_cf, master_cf, recipient_map, transport_map
from mailbot.signing import generate_key
from tests.package.postfix_support import PostfixInstance, make_ca
from tests.support import BotThread, CaptureRelay, free_port, make_settings, wait_for

pytestmark = pytest.mark.slow

if shutil.which("postfix") is None and not Path("/usr/sbin/postfix").exists():
    pytest.fail("Debian's postfix package is required (scripts/test installs it)")


@pytest.fixture
def final() -> Iterator[CaptureRelay]:
    """The participants' mail server, where Postfix delivers the receipts."""
    server = CaptureRelay()
    server.start()
    yield server
    server.stop()


def test_contribution_through_postfix_and_signed_receipt_back(
    tmp_path: Path, database_url: str, final: CaptureRelay
) -> None:
    ca, cert, key = make_ca(tmp_path)
    dkim_key = tmp_path / "dkim" / "pf.key"
    record = generate_key(dkim_key)
    inbound, outbound, lmtp = free_port(), free_port(), free_port()
    settings = make_settings(
        database_url,
        tmp_path / "var",
        protocol="lmtp",
        listen=f"127.0.0.1:{lmtp}",
        relay=f"smtp://127.0.0.1:{outbound}",
        relay_tls="starttls",
        relay_ca_file=str(ca),
        dkim_selector="pf",
        dkim_key_file=str(dkim_key),
    )
    postfix = PostfixInstance(
        main_cf=main_cf(settings, maps_dir="{config_dir}")
        + f"""
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_loglevel = 1
# The participants' domain is delivered to the test's capture server.
transport_maps = hash:{{config_dir}}/mailbot_transport, hash:{{config_dir}}/participants
""",
        master_cf=f"127.0.0.1:{inbound} inet n - n - - smtpd\n"
        + master_cf(settings, port=outbound),
        maps={
            "mailbot_transport": transport_map(settings, lmtp=f"127.0.0.1:{lmtp}"),
            "mailbot_recipients": recipient_map(settings),
            "participants": f"example.org\tsmtp:[127.0.0.1]:{final.port}\n",
        },
    )
    postfix.main_cf = postfix.main_cf.replace("{config_dir}", str(postfix.config_dir))
    bot = BotThread(make_app(settings, clock=FrozenClock())).start()
    postfix.start()
    try:
        with smtplib.SMTP("127.0.0.1", inbound, timeout=30) as client:
            client.sendmail(
                "ana@example.org",
                ["contrib+composition@consult.example.org"],
                b"From: Ana <ana@example.org>\r\nTo: contrib+composition@consult.example.org\r\n"
                b"Subject: Regional seats\r\nMessage-ID: <pf-1@example.org>\r\n\r\n"
                b"Each region should have two seats on the working group, at least.\r\n",
            )
            # An address mailbot does not own is refused by Postfix itself, at RCPT.
            code, _ = client.docmd("MAIL FROM:<ana@example.org>")
            code, answer = client.docmd("RCPT TO:<nobody@consult.example.org>")
            assert code == 550, answer
        got = wait_for(lambda: final.messages, timeout=60)
        assert got, f"no receipt came back through Postfix:\n{postfix.log.read_text()[-3000:]}"
        (receipt,) = final.messages
        assert receipt.rcpt_tos == ["ana@example.org"]
        assert receipt.mail_from == "contrib-bounces@consult.example.org"
        assert b"Received: from" in receipt.data and b"postfix-test" in receipt.data
        name = "pf._domainkey.consult.example.org"

        def dns(qname: bytes, timeout: int = 5) -> bytes | None:
            return record.encode() if qname.decode().rstrip(".") == name else None

        assert dkim.verify(receipt.data, dnsfunc=dns)
        msg = email.message_from_bytes(receipt.data, policy=email.policy.default)
        assert "[WGIG-0001]" in str(msg["Subject"])
        log = postfix.log.read_text()
        # mailbot's receipt came in over STARTTLS, the certificate checked against our CA.
        assert "postfix/mailbot/smtpd" in log and "TLS connection established from" in log
        with Session(bot.app.engine) as session:
            (filed,) = session.exec(select(Contribution)).all()
        assert filed.topic == "composition" and filed.topic_rule == "subaddress"
    finally:
        postfix.stop()
        bot.stop()
