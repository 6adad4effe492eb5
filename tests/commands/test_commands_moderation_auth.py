"""Moderator authentication: every way of faking a moderator is refused, logged and reported."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from tests.commands.commands_support import (
    CHAIR,
    COMMANDS,
    SECRETARIAT,
    contribute,
    decisions,
    ingest,
    mail,
    moderated_app,
    moderated_settings,
    outbox,
    quoting_reply,
    status,
    token_for,
)


@pytest.fixture
def held(database_url: str, tmp_path: Path, clock: FrozenClock) -> App:
    app = moderated_app(
        database_url, tmp_path, clock, trusted_authserv_ids=("mx.caucus.example.org",)
    )
    assert contribute(app, "ann@example.org").outcome == "held"
    assert contribute(app, "bob@example.org").outcome == "held"
    return app


def notice(app: App, ref: str = "WGIG-0001"):  # type: ignore[no-untyped-def]
    return next(n for n in outbox(app, "notice") if ref in str(n["Subject"]) and n["To"] == CHAIR)


def assert_refused(app: App, ref: str, why: str, state: str = "held") -> None:
    assert status(app, ref) == state
    last = decisions(app)[-1]
    assert (last.action, last.item, last.outcome, last.proof) == ("approve", ref, "refused", None)
    assert why in last.reason, last.reason
    alerts = [n for n in outbox(app, "alert") if "refused command" in str(n["Subject"])]
    assert alerts, "the moderators were not told"
    assert set(alerts[-1]["To"].addresses[i].addr_spec for i in range(2)) == {CHAIR, SECRETARIAT}
    results = outbox(app, "results")[-1]
    assert "Refused:" in results.get_content()


def test_forged_moderator_without_token_or_dkim(held: App) -> None:
    out = ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="APPROVE WGIG-0001", body=""))
    assert out.outcome == "command"
    assert_refused(held, "WGIG-0001", "no token")
    # The results go to the real moderator's mailbox, with a confirmation only it can use.
    results = outbox(held, "results")[-1]
    assert results["To"] == CHAIR and "CONFIRM mbt." in results.get_content()


def test_a_participant_cannot_moderate(held: App) -> None:
    ingest(
        held,
        mail(
            sender="ann@example.org",
            to=COMMANDS,
            subject="x",
            body=f"APPROVE WGIG-0001 {token_for(notice(held), 'approve')}",
        ),
    )
    assert_refused(held, "WGIG-0001", "not a moderator")
    assert "CONFIRM" not in outbox(held, "results")[-1].get_content()


def test_replayed_token(held: App) -> None:
    line = f"APPROVE WGIG-0001 {token_for(notice(held), 'approve')}"
    ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="x", body=line))
    assert status(held, "WGIG-0001") == "published"
    ingest(held, mail(sender=SECRETARIAT, to=COMMANDS, subject="again", body=line))
    assert_refused(held, "WGIG-0001", "already used", state="published")


def test_replayed_token_keeps_state(held: App) -> None:
    line = f"APPROVE WGIG-0001 {token_for(notice(held), 'approve')}"
    ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="x", body=line))
    ingest(
        held,
        mail(
            sender=CHAIR,
            to=COMMANDS,
            subject="x",
            body="REJECT WGIG-0001 " + token_for(notice(held), "reject") + " off topic",
        ),
    )
    assert status(held, "WGIG-0001") == "rejected"
    ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="again", body=line))
    assert status(held, "WGIG-0001") == "rejected"  # the replay changed nothing
    last = decisions(held)[-1]
    assert (last.action, last.outcome) == ("approve", "refused")
    assert "already used" in last.reason
    # The author got the reason of the rejection, and no acknowledgement twice.
    (rejection,) = outbox(held, "rejection")
    assert "off topic" in rejection.get_content() and rejection["To"] == "ann@example.org"
    assert len(outbox(held, "ack")) == 1


def test_expired_token(held: App, clock: FrozenClock) -> None:
    reply = quoting_reply(notice(held), sender=CHAIR, top="APPROVE WGIG-0001")
    clock.advance(timedelta(days=7, minutes=1))
    ingest(held, reply)
    assert_refused(held, "WGIG-0001", "expired")


def test_token_for_one_reference_used_on_another(held: App) -> None:
    token = token_for(notice(held, "WGIG-0001"), "approve")
    ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="x", body=f"APPROVE WGIG-0002 {token}"))
    assert_refused(held, "WGIG-0002", "issued for approve WGIG-0001")
    # Quoted: the notice of WGIG-0001 under a command for WGIG-0002 proves nothing either.
    ingest(held, quoting_reply(notice(held, "WGIG-0001"), sender=CHAIR, top="APPROVE WGIG-0002"))
    assert_refused(held, "WGIG-0002", "no token for approve WGIG-0002")
    assert status(held, "WGIG-0001") == "held"


def test_untrusted_authserv_id(held: App) -> None:
    forged = "evil.example.net; dkim=pass header.d=caucus.example.org header.i=@caucus.example.org"
    ingest(
        held,
        mail(
            sender=CHAIR,
            to=COMMANDS,
            subject="APPROVE WGIG-0001",
            body="",
            headers={"Authentication-Results": forged},
        ),
    )
    assert_refused(held, "WGIG-0001", "untrusted authserv-id evil.example.net")


def test_trusted_dkim_result_is_enough(held: App) -> None:
    header = (
        "mx.caucus.example.org; spf=pass smtp.mailfrom=caucus.example.org;"
        " dkim=pass (2048-bit key) header.d=caucus.example.org header.s=sel1"
    )
    ingest(
        held,
        mail(
            sender=CHAIR,
            to=COMMANDS,
            subject="APPROVE WGIG-0001",
            body="",
            headers={"Authentication-Results": header},
        ),
    )
    assert status(held, "WGIG-0001") == "published"
    assert decisions(held)[-1].proof == "dkim:mx.caucus.example.org"
    # A pass for another domain is not aligned with the From.
    other = "mx.caucus.example.org; dkim=pass header.d=example.net"
    ingest(
        held,
        mail(
            sender=CHAIR,
            to=COMMANDS,
            subject="APPROVE WGIG-0002",
            body="",
            headers={"Authentication-Results": other},
        ),
    )
    assert_refused(held, "WGIG-0002", "no DKIM pass aligned")


def test_confirmation_sent_to_the_real_moderator_completes(held: App) -> None:
    ingest(held, mail(sender=CHAIR, to=COMMANDS, subject="REJECT WGIG-0002 spam", body=""))
    assert status(held, "WGIG-0002") == "held"
    results = outbox(held, "results")[-1]
    # The chair sends the line back as the results ask (a token only quoted counts for nothing).
    line = next(x.strip() for x in results.get_content().splitlines() if "CONFIRM mbt." in x)
    ingest(held, quoting_reply(results, sender=CHAIR, top=line))
    assert status(held, "WGIG-0002") == "rejected"
    assert "spam" in outbox(held, "rejection")[-1].get_content()
    assert decisions(held)[-1].proof.startswith("token:")  # type: ignore[union-attr]


def test_alerts_are_rate_limited(held: App) -> None:
    for n in range(3):
        ingest(held, mail(sender=CHAIR, to=COMMANDS, subject=f"APPROVE WGIG-000{n + 1}", body=""))
    alerts = [n for n in outbox(held, "alert") if "refused command" in str(n["Subject"])]
    assert len(alerts) == 1  # one per sender and hour; every refusal is still in the log
    assert [d.outcome for d in decisions(held)].count("refused") == 3


def test_alerts_are_capped_in_all_by_the_one_rate_limiter(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = moderated_settings(database_url, tmp_path / "var")
    limits = settings.limits.model_copy(update={"alerts_per_hour": 2})
    app = make_app(settings.model_copy(update={"limits": limits}), clock=clock)
    assert contribute(app, "ann@example.org").outcome == "held"
    forgers = [f"chair{n}@caucus.example.org" for n in range(4)]
    for forger in forgers:
        ingest(
            app,
            mail(
                sender=CHAIR,
                to=COMMANDS,
                subject="APPROVE WGIG-0001",
                body="",
                headers={"Sender": forger},
                message_id=f"<{forger}>",
            ),
        )
    alerts = [n for n in outbox(app, "alert") if "refused command" in str(n["Subject"])]
    assert len(alerts) == 1  # the same From within the hour: one alert
    for n in range(len(forgers)):
        sender = f"mod{n}@example.net"
        ingest(app, mail(sender=sender, to=COMMANDS, subject="APPROVE WGIG-0001", body=""))
    alerts = [n for n in outbox(app, "alert") if "refused command" in str(n["Subject"])]
    assert len(alerts) == 2  # [limits] alerts_per_hour, in all
    clock.advance(timedelta(minutes=61))
    ingest(app, mail(sender="late@example.net", to=COMMANDS, subject="APPROVE WGIG-0001", body=""))
    alerts = [n for n in outbox(app, "alert") if "refused command" in str(n["Subject"])]
    assert len(alerts) == 3
