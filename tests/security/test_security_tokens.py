"""Item 4: a moderator token proves something only for the moderator it was sent to, and
CONFIRM reads its token from the new text only, never from the quoted original."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailbot.clock import FrozenClock
from tests.commands.commands_support import (
    CHAIR,
    COMMANDS,
    CONTRIB,
    SECRETARIAT,
    decisions,
    mail,
    quoting_reply,
    status,
    token_for,
)
from tests.security.security_support import received, send, start_bot
from tests.support import CaptureRelay, wait_for


def held_bot(**kw: Any) -> tuple[Any, Any]:
    app, bot = start_bot(**kw)
    send(bot.port, mail(sender="ann@example.org", body="Open the group."), CONTRIB)
    assert wait_for(lambda: received(kw["relay"], CHAIR), timeout=30)
    return app, bot


def test_item4_forwarded_notice_token_is_bound_to_its_moderator(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = held_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
    )
    chairs = token_for(received(relay, CHAIR)[0], "approve")
    assert wait_for(lambda: received(relay, SECRETARIAT), timeout=30)
    assert token_for(received(relay, SECRETARIAT)[0], "approve") != chairs
    # The chair's notice, forwarded, with a From forged as the other moderator.
    line = f"APPROVE WGIG-0001 {chairs}"
    send(bot.port, mail(sender=SECRETARIAT, to=COMMANDS, subject="x", body=line), COMMANDS)
    assert wait_for(lambda: [d for d in decisions(app) if d.action == "approve"], timeout=30)
    (refused,) = [d for d in decisions(app) if d.action == "approve"]
    assert refused.outcome == "refused" and f"was not sent to {SECRETARIAT}" in refused.reason
    assert status(app, "WGIG-0001") == "held"


def test_item4_confirm_in_quoted_text_runs_nothing(
    tmp_path: Path, database_url: str, relay: CaptureRelay, bot_factory: Any, clock: FrozenClock
) -> None:
    app, bot = held_bot(
        database_url=database_url,
        tmp_path=tmp_path,
        clock=clock,
        relay=relay,
        bot_factory=bot_factory,
    )
    forged = mail(
        sender=CHAIR, to=COMMANDS, subject="REJECT WGIG-0001 spam, says the forger", body=""
    )
    send(bot.port, forged, COMMANDS)
    assert wait_for(lambda: received(relay, CHAIR, "Results"), timeout=30)
    results = received(relay, CHAIR, "Results")[-1]
    assert "CONFIRM mbt." in results.get_content()
    # The real chair answers, puzzled; the client quotes the results with their token.
    reply = quoting_reply(results, sender=CHAIR, top="Confirm? I never sent that")
    send(bot.port, reply, COMMANDS)
    assert wait_for(lambda: len(received(relay, CHAIR, "Results")) >= 2, timeout=30)
    assert status(app, "WGIG-0001") == "held"
    assert [d.outcome for d in decisions(app) if d.action == "reject"] == ["refused"]
