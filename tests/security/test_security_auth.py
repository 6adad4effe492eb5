"""Items 2 and 3: only the Authentication-Results our MTA added is believed (topmost with a
trusted authserv-id, read by a quote-aware parser, bounded); with DKIM, duplicate From/
Subject/To/Date are refused and the signature must cover what the command finder reads."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mailbot.clock import FrozenClock
from mailbot.moderation import auth
from mailbot.moderation.auth import parse_authentication_results
from tests.commands.commands_support import CHAIR, COMMANDS, CONTRIB, decisions, mail, status
from tests.security.security_support import received, send, start_bot
from tests.support import CaptureRelay, wait_for

MX = "mx.caucus.example.org"


def refused_approve(app: Any) -> Any:
    found = [d for d in decisions(app) if d.action == "approve"]
    return found[-1] if found else None


@pytest.fixture
def held_bot(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> tuple[Any, Any]:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        trusted_authserv_ids=(MX,),
    )
    send(bot.port, mail(sender="ann@example.org", body="Open the group."), CONTRIB)
    assert wait_for(lambda: received(relay, CHAIR), timeout=30)
    return app, bot


def approve_with(bot: Any, headers: list[tuple[str, str]]) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    send(
        bot.port,
        head.encode() + mail(sender=CHAIR, to=COMMANDS, subject="APPROVE WGIG-0001", body=""),
        COMMANDS,
    )


def test_item2_forged_authentication_results_below_ours_is_ignored(held_bot: Any) -> None:
    app, bot = held_bot
    # Our MTA prepends its verdict (fail); the forged pass came with the message, below it.
    approve_with(
        bot,
        [
            ("Authentication-Results", f"{MX}; dkim=fail header.d=caucus.example.org"),
            ("Authentication-Results", f"{MX}; dkim=pass header.d=caucus.example.org"),
        ],
    )
    assert wait_for(lambda: refused_approve(app), timeout=30)
    assert status(app, "WGIG-0001") == "held"
    assert f"{MX} reports no DKIM pass" in refused_approve(app).reason


def test_item2_semicolon_inside_a_quoted_value_does_not_split_the_header(held_bot: Any) -> None:
    app, bot = held_bot
    value = (
        f'{MX}; dkim=fail reason="x; dkim=pass header.d=caucus.example.org" header.d=evil.example'
    )
    approve_with(bot, [("Authentication-Results", value)])
    assert wait_for(lambda: refused_approve(app), timeout=30)
    assert status(app, "WGIG-0001") == "held"


def test_item2_nested_comments_are_bounded_and_not_believed(held_bot: Any) -> None:
    app, bot = held_bot
    bomb = "(" * 32_000 + ")" * 32_000  # 64 KB of nested comments
    assert (
        parse_authentication_results(f"{MX}; dkim=pass {bomb} header.d=caucus.example.org") is None
    )
    approve_with(
        bot, [("Authentication-Results", f"{MX}; dkim=pass {bomb} header.d=caucus.example.org")]
    )
    assert wait_for(lambda: refused_approve(app), timeout=60)
    assert status(app, "WGIG-0001") == "held"
    assert "unreadable" in refused_approve(app).reason


@pytest.fixture
def dkim_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    pub = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    monkeypatch.setattr(
        auth,
        "DKIM_DNS",
        lambda name, timeout=5: record if name == b"sel._domainkey.caucus.example.org." else None,
    )
    return key.read_bytes()


def signed(raw: bytes, key: bytes, headers: list[bytes]) -> bytes:
    import dkim

    return dkim.sign(raw, b"sel", b"caucus.example.org", key, include_headers=headers) + raw


def test_item3_dkim_with_a_prepended_second_subject_is_refused(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Any,
    clock: FrozenClock,
    dkim_key: bytes,
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        verify_dkim=True,
    )
    genuine = signed(
        mail(sender=CHAIR, to=COMMANDS, subject="STATS", body=""),
        dkim_key,
        [b"from", b"to", b"subject", b"date"],
    )
    # The attacker replays the chair's genuine signed STATS with a CLOSE Subject on top.
    send(bot.port, b"Subject: CLOSE\r\n" + genuine, COMMANDS)
    assert wait_for(lambda: [d for d in decisions(app) if d.action == "close"], timeout=30)
    (close,) = [d for d in decisions(app) if d.action == "close"]
    assert close.outcome == "refused" and "duplicate subject" in close.reason
    # The genuine message itself still works: the fix does not refuse honest signed mail.
    send(bot.port, genuine, COMMANDS)
    assert wait_for(lambda: [d for d in decisions(app) if d.action == "stats"], timeout=30)
    (stats,) = [d for d in decisions(app) if d.action == "stats"]
    assert (stats.outcome, stats.proof) == ("done", "dkim:dkimpy")


def test_item3_dkim_signature_must_cover_the_subject(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Any,
    clock: FrozenClock,
    dkim_key: bytes,
) -> None:
    app, bot = start_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
        verify_dkim=True,
    )
    unsigned_subject = signed(
        mail(sender=CHAIR, to=COMMANDS, subject="CLOSE", body=""), dkim_key, [b"from", b"to"]
    )
    send(bot.port, unsigned_subject, COMMANDS)
    assert wait_for(lambda: [d for d in decisions(app) if d.action == "close"], timeout=30)
    (close,) = [d for d in decisions(app) if d.action == "close"]
    assert close.outcome == "refused" and "does not cover subject" in close.reason
