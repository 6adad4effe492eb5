"""DKIM signing at send time (verified by dkimpy against the key's DNS record), `dkim keygen`,
and the headers of personal and list mail."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
from typer.testing import CliRunner

from mailbot.boot import make_app
from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.compose import build, unsubscribe_headers
from mailbot.config import PROJECT_DIR
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from mailbot.sender import drain
from mailbot.signing import generate_key
from tests.support import CaptureRelay, make_settings

runner = CliRunner()

RAW = (
    b"From: Ana <ana@example.es>\r\nTo: contrib@consult.example.org\r\n"
    b"Subject: [general] Firmado\r\nMessage-ID: <dk-1@example.es>\r\n\r\n"
    b"Un texto suficientemente largo para ser una contribucion de verdad al proceso.\r\n"
)


def dns_for(name: str, record: str):  # type: ignore[no-untyped-def]
    """dkimpy's dnsfunc hook: the one TXT record of our selector, nothing else."""

    def lookup(qname: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if qname.decode().rstrip(".") == name else None

    return lookup


def test_receipt_is_signed_and_verifies_against_the_dns_record(
    tmp_path: Path, database_url: str, clock: FrozenClock, relay: CaptureRelay
) -> None:
    key = tmp_path / "keys" / "sel1.key"
    record = generate_key(key)
    assert record.startswith("v=DKIM1; k=rsa;") and key.stat().st_mode & 0o777 == 0o600
    settings = make_settings(
        database_url,
        tmp_path / "var",
        relay=relay.url,
        relay_tls="none",
        dkim_selector="sel1",
        dkim_key_file=str(key),
    )
    app = make_app(settings, clock=clock)
    store_raw_batch(app=app, items=[RawIn(raw=RAW, source="test")])
    process_pending(app=app)
    assert drain(app=app)["sent"] == 1
    (sent,) = relay.messages
    assert sent.data.startswith(b"DKIM-Signature:")
    name = "sel1._domainkey.consult.example.org"
    assert dkim.verify(sent.data, dnsfunc=dns_for(name, record))
    # A changed byte breaks it: the check can fail.
    assert not dkim.verify(sent.data.replace(b"Firmado", b"Firmada"), dnsfunc=dns_for(name, record))
    # A receipt is personal mail.
    msg = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert msg["List-Id"] is None and msg["Precedence"] is None
    assert msg["Auto-Submitted"] == "auto-replied"


def test_dkim_keygen_prints_the_record(tmp_path: Path) -> None:
    env = {"MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml")}
    key = tmp_path / "k" / "s2.key"
    result = runner.invoke(
        cli, ["dkim", "keygen", "--selector", "s2", "--key-file", str(key)], env=env
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "IN TXT" in x)
    assert line.startswith("s2._domainkey.consult.example.org. IN TXT (")
    assert all(len(part) <= 255 for part in re.findall(r'"([^"]*)"', line))
    assert 'dkim_selector = "s2"' in result.stdout and key.exists()
    again = runner.invoke(cli, ["dkim", "keygen", "--selector", "s2", "--key-file", str(key)])
    assert again.exit_code == 1  # never overwrites a key in use


def test_digest_headers_one_click_unsubscribe(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        database_url, tmp_path / "var", unsubscribe_url="https://consult.example.org/u"
    )
    headers = unsubscribe_headers(settings)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    msg = build(
        settings=settings,
        now=datetime(2026, 11, 20, tzinfo=UTC),
        to=["x@example.org"],
        subject="Digest",
        body="text",
        lang="en",
        list_mail=True,
        extra_headers=headers,
    )
    assert msg["List-Unsubscribe"].startswith("<https://consult.example.org/u>, <mailto:")
    assert "None" not in str(msg["List-Unsubscribe"])
    assert msg["List-Id"] == (
        "Working Group on Internet Governance: call for contributions <wgig.consult.example.org>"
    )
    assert msg["Precedence"] == "bulk"
