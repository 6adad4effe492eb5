"""Moderators split and merge campaigns by e-mail, over SMTP to the real listener; every
copy keeps its own receipt."""

from __future__ import annotations

import smtplib
from pathlib import Path

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.campaigns.models import CampaignMember
from mailbot.clock import FrozenClock
from mailbot.models import Contribution
from tests.commands.commands_support import CHAIR, COMMANDS, CONTRIB, mail, parse_out
from tests.support import CaptureRelay, make_settings, wait_for

LETTER_A = (
    "The working group must keep every one of its meetings open to observers from all "
    "regions, publish the recordings within a week, and answer the written questions that "
    "civil society sends before each session, so that nobody is left out of the process."
)
LETTER_B = (
    "We ask the secretariat to translate the draft report into the six official languages "
    "before the consultation closes, and to extend the deadline by one month for the people "
    "who can only read it in their own language, as promised at the opening meeting."
)
PROOF = {"Authentication-Results": "mx.caucus.example.org; dkim=pass header.d=caucus.example.org"}


def send(port: int, raw: bytes, rcpt: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("sender@example.org", [rcpt], raw)


def campaigns(app: App) -> dict[str, str]:
    """ref -> the ref of its cluster's founder."""
    with Session(app.engine) as s:
        refs = dict(s.exec(select(Contribution.id, Contribution.ref)).all())
        rows = s.exec(select(CampaignMember.contribution_id, CampaignMember.campaign_id)).all()
    return {refs[cid]: refs[campaign] for cid, campaign in rows}


def results(relay: CaptureRelay) -> list[str]:
    found = [parse_out(m.data) for m in relay.messages if CHAIR in m.rcpt_tos]
    return [m.get_content() for m in found if "Results" in str(m["Subject"])]


def test_split_and_merge_by_mail(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory,
    clock: FrozenClock,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(database_url, tmp_path / "var", relay=relay.url)
    moderation = settings.moderation.model_copy(
        update={"trusted_authserv_ids": ("mx.caucus.example.org",)}
    )
    app = make_app(settings.model_copy(update={"moderation": moderation}), clock=clock)
    bot = bot_factory(app)
    greetings = ("Dear chair,", "Hello,", "To the working group:", "Hi,")
    for n, greeting in enumerate(greetings):  # WGIG-0001..0004: letter A
        send(
            bot.port,
            mail(sender=f"a{n}@example.org", body=f"{greeting}\n\n{LETTER_A}\n\nA{n}"),
            CONTRIB,
        )
    for n in range(3):  # WGIG-0005..0007: letter B
        send(bot.port, mail(sender=f"b{n}@example.org", body=f"{LETTER_B}\n\nB{n}"), CONTRIB)
    acks = lambda: [m for m in relay.messages if "[WGIG-" in str(parse_out(m.data)["Subject"])]  # noqa: E731
    assert wait_for(lambda: len(acks()) == 7, timeout=60), "each copy gets its own receipt"
    before = campaigns(app)
    assert {before[f"WGIG-000{n}"] for n in range(1, 5)} == {"WGIG-0001"}
    assert {before[f"WGIG-000{n}"] for n in range(5, 8)} == {"WGIG-0005"}

    split = mail(
        sender=CHAIR, to=COMMANDS, subject="CAMPAIGN SPLIT WGIG-0001", body="", headers=PROOF
    )
    send(bot.port, split, COMMANDS)
    assert wait_for(lambda: len(results(relay)) == 1, timeout=60), "no results"
    assert "WGIG-0001 now stands alone" in results(relay)[0]
    after = campaigns(app)
    assert after["WGIG-0001"] == "WGIG-0001"
    assert {after[f"WGIG-000{n}"] for n in range(2, 5)} == {"WGIG-0002"}  # the rest stay together

    merge = mail(
        sender=CHAIR,
        to=COMMANDS,
        subject="CAMPAIGN MERGE WGIG-0002 WGIG-0006",
        body="",
        headers=PROOF,
    )
    send(bot.port, merge, COMMANDS)
    assert wait_for(lambda: len(results(relay)) == 2, timeout=60), "no results"
    assert "joined the campaign of WGIG-0002 (3 moved)" in results(relay)[1]
    merged = campaigns(app)
    assert {merged[f"WGIG-000{n}"] for n in range(2, 8)} == {"WGIG-0002"}

    # A copy of letter A arriving now does not gather around the split-off WGIG-0001.
    send(bot.port, mail(sender="a9@example.org", body=f"Hello,\n\n{LETTER_A}\n\nA9"), CONTRIB)
    assert wait_for(lambda: "WGIG-0008" in campaigns(app), timeout=60)
    assert campaigns(app)["WGIG-0008"] == "WGIG-0002"
    # A forged moderator (no proof) changes nothing.
    forged = mail(sender=CHAIR, to=COMMANDS, subject="CAMPAIGN SPLIT WGIG-0003", body="")
    send(bot.port, forged, COMMANDS)
    assert wait_for(lambda: len(results(relay)) == 3, timeout=60)
    assert campaigns(app)["WGIG-0003"] == "WGIG-0002"
    # STATS counts contributions by language.
    send(
        bot.port, mail(sender=CHAIR, to=COMMANDS, subject="STATS", body="", headers=PROOF), COMMANDS
    )
    assert wait_for(lambda: len(results(relay)) == 4, timeout=60)
    assert "languages: en 8" in results(relay)[3]
