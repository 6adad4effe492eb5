"""Issue 18, end to end over SMTP, written as participants act: each case of the issue's
*Why*, sent to a running bot, the answers read from a capture relay."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.compose import build
from mailbot.config import Moderation
from mailbot.conversation.complaints import Complaint
from mailbot.models import Participant
from mailbot.outbox import enqueue
from tests.conversation.conversation_support import (
    CAUCUS,
    COMMANDS,
    CONTRIB,
    Conversation,
    message,
    reply_to,
)
from tests.support import BotThread, CaptureRelay, make_settings

LIST_HEADERS = {
    "List-Id": "Governance caucus <caucus.lists.example.org>",
    "List-Post": f"<mailto:{CAUCUS}>",
    "List-Unsubscribe": "<mailto:caucus-leave@lists.example.org>",
    "Precedence": "list",
    "X-Mailman-Version": "3.3.10",
    "Sender": "caucus-bounces@lists.example.org",
}


@pytest.fixture
def talk(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Callable[..., BotThread],
    request: pytest.FixtureRequest,
) -> Iterator[Conversation]:
    settings = make_settings(database_url, tmp_path / "var", relay=relay.url)
    marker = request.node.get_closest_marker("consultation")
    if marker:
        consultation = settings.consultation.model_copy(update=marker.kwargs)
        settings = settings.model_copy(update={"consultation": consultation})
    policy = request.node.get_closest_marker("policy")
    if policy:
        settings = settings.model_copy(update={"moderation": Moderation(policy=policy.args[0])})
    app = make_app(settings, clock=FrozenClock())
    yield Conversation(app=app, bot=bot_factory(app), relay=relay)
    app.engine.dispose()


def test_a_list_copy_is_a_contribution_marked_via_list_and_never_answered(
    talk: Conversation,
) -> None:
    talk.send(
        message(
            sender="Ana <ana@example.org>",
            to=CAUCUS,
            mid="list-1@example.org",
            subject="[Caucus] Transparency of the working group",
            body="All documents of the working group should be public, drafts included.",
            headers=LIST_HEADERS,
        )
    )
    raw = talk.outcome("list-1@example.org")
    assert raw.outcome == "contribution", raw.reason
    copy = talk.contribution("WGIG-0001")
    assert copy.via_list == "caucus.lists.example.org" and copy.status == "published"
    assert copy.topic == "working-methods"  # the keyword "transparency", as for anyone
    assert talk.relay.messages == []  # nothing to the list, nothing to Ana (default off)


@pytest.mark.consultation(acknowledge_list_copies=True)
def test_list_copies_get_a_private_receipt_when_the_consultation_asks(
    talk: Conversation,
) -> None:
    talk.send(
        message(
            sender="Ana <ana@example.org>",
            to=CAUCUS,
            mid="list-2@example.org",
            body="The mandate should be reviewed after two years.",
            headers={**LIST_HEADERS, "Auto-Submitted": "auto-generated"},
        )
    )
    assert talk.outcome("list-2@example.org").outcome == "contribution"
    assert [m["To"] for m in talk.mails_to("ana@example.org", "Received")] == ["ana@example.org"]
    assert talk.mails_to(CAUCUS) == []  # never an answer on the list


def test_our_digest_coming_back_through_the_list_is_ours(talk: Conversation) -> None:
    talk.send(
        message(
            sender="Consultation <contrib@consult.example.org>",
            to=CAUCUS,
            mid="rewritten-by-the-list@lists.example.org",
            subject="[Caucus] Digest of contributions",
            body="1. WGIG-0001 Transparency ...\nSend GET WGIG-0001 for the text.",
            headers=LIST_HEADERS,
        )
    )
    raw = talk.outcome("rewritten-by-the-list@lists.example.org")
    assert raw.outcome == "loop" and "came back through a list" in (raw.reason or "")
    assert talk.relay.messages == []


ARF = """Feedback report for a message you sent.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeProvider-FBL/1.0
Version: 1
Original-Rcpt-To: <bob@example.org>

--arf
Content-Type: message/rfc822

From: Consultation <contrib@consult.example.org>
To: bob@example.org
Subject: Digest of contributions

1. WGIG-0001 ...
--arf--"""


def test_a_complaint_is_kept_apart_and_the_complainer_gets_no_more_digests(
    talk: Conversation,
) -> None:
    with Session(talk.app.engine) as s:
        s.add(Participant(email="bob@example.org", first_seen=talk.app.clock.now()))
        s.commit()
        bob = s.exec(select(Participant).where(Participant.email == "bob@example.org")).one()
        bob.digest_subscribed = True
        s.add(bob)
        s.commit()
    raw = message(
        sender="FBL <fbl@provider.example>",
        mid="arf-1@provider.example",
        subject="Abuse report",
        body=ARF,
        headers={},
    ).replace(
        b"Content-Type: text/plain; charset=utf-8",
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="arf"',
    )
    talk.send(raw)
    row = talk.outcome("arf-1@provider.example")
    assert row.outcome == "complaint", row.reason
    with Session(talk.app.engine) as s:
        (complaint,) = s.exec(select(Complaint)).all()
        assert (complaint.recipient, complaint.feedback_type) == ("bob@example.org", "abuse")
        assert not s.exec(select(Participant.digest_subscribed)).first()
        digest = build(
            settings=talk.app.settings,
            now=talk.app.clock.now(),
            to=["bob@example.org"],
            subject="Digest",
            body="x",
            lang="en",
        )
        queued = enqueue(
            session=s,
            settings=talk.app.settings,
            guards=talk.app.road.guards,
            now=talk.app.clock.now(),
            msg=digest,
            kind="digest",
            dedupe_key="digest:bob",
        )
        assert queued is None  # no more digests to whoever complained
    assert talk.relay.messages == []  # never answered


def test_replies_to_the_receipt_command_follow_up_and_thanks(talk: Conversation) -> None:
    talk.send(
        message(
            sender="Renée <renee@example.fr>",
            mid="fr-1@example.fr",
            subject="Les membres du groupe",
            body="Nous proposons que les membres soient choisis par région.",
        )
    )
    (receipt,) = talk.mails_to("renee@example.fr")
    assert "[WGIG-0001]" in receipt["Subject"]
    assert "same thread" in receipt.get_content() or "même fil" in receipt.get_content()
    thunderbird = "Le 01/12/2026 à 10:00, Consultation a écrit :"
    # A command on top of a quoting reply runs; the quoted receipt is not a contribution.
    talk.send(
        reply_to(
            receipt,
            sender="renee@example.fr",
            mid="fr-2@example.fr",
            top="STATUT WGIG-0001",
            attribution=thunderbird,
        )
    )
    assert talk.outcome("fr-2@example.fr").outcome == "command"
    assert len(talk.mails_to("renee@example.fr")) == 2
    # Real new words: a follow-up contribution in the same thread and topic.
    gmail = "El mar, 1 dic 2026 a las 10:00, Consultation (<contrib@consult.example.org>) escribió:"
    talk.send(
        reply_to(
            receipt,
            sender="renee@example.fr",
            mid="fr-3@example.fr",
            top="J'ajoute : un siège pour les parlements régionaux.",
            attribution=gmail,
        )
    )
    follow = talk.outcome("fr-3@example.fr")
    assert follow.outcome == "contribution" and "follow-up" in (follow.reason or "")
    first, second = talk.contribution("WGIG-0001"), talk.contribution("WGIG-0002")
    assert second.thread_id == first.thread_id and second.topic == first.topic == "composition"
    # "Merci !" only: logged, not filed, not answered.
    before = len(talk.relay.messages)
    talk.send(
        reply_to(
            receipt,
            sender="renee@example.fr",
            mid="fr-4@example.fr",
            top="Merci beaucoup !",
            attribution=thunderbird,
        )
    )
    assert talk.outcome("fr-4@example.fr").outcome == "reply-logged"
    assert len(talk.relay.messages) == before


def test_a_reply_to_the_digest_is_a_new_contribution_with_its_own_topic(
    talk: Conversation,
) -> None:
    with Session(talk.app.engine) as s:
        digest = build(
            settings=talk.app.settings,
            now=talk.app.clock.now(),
            to=["kofi@example.gh"],
            subject="Digest of contributions",
            body="1. WGIG-0001 On the mandate of the group\n   The mandate should ...",
            lang="en",
        )
        enqueue(
            session=s,
            settings=talk.app.settings,
            guards=talk.app.road.guards,
            now=talk.app.clock.now(),
            msg=digest,
            kind="digest",
            dedupe_key="digest:kofi",
        )
        s.commit()
    talk.send(message(sender="someone@example.org", mid="warmup@example.org", body="Hello all."))
    (received,) = talk.mails_to("kofi@example.gh", "Digest")
    outlook = "On Tue, Dec 1, 2026 at 10:00 AM Consultation <contrib@consult.example.org> wrote:"
    talk.send(
        reply_to(
            received,
            sender="kofi@example.gh",
            mid="gh-1@example.gh",
            top="Transparency matters more than anything: publish the minutes.",
            attribution=outlook,
        )
    )
    raw = talk.outcome("gh-1@example.gh")
    assert raw.outcome == "contribution" and "new contribution" in (raw.reason or "")
    # "mandate" is only in the quoted digest: the topic comes from Kofi's own words.
    kofi = [
        c
        for c in map(talk.contribution, ("WGIG-0001", "WGIG-0002"))
        if c.message_id == "gh-1@example.gh"
    ]
    assert kofi[0].topic == "working-methods"


@pytest.mark.parametrize(
    ("subject", "headers", "body"),
    [
        ("Meetings out of office hours", {}, "Meetings should also be held outside office hours."),
        (
            "Forwarded by my rule",
            {"X-MS-Exchange-Inbox-Rules-Loop": "ana@example.org"},
            "The group should meet in the South as well as in Geneva.",
        ),
        (
            "Help",
            {},
            "Help developing countries take part: fund travel to every meeting of the group.",
        ),
        ("Thanks!", {}, "Thanks for the call. Our view: the group must hear small island states."),
        ("Language diversity", {}, "Documents must be available in all six UN languages."),
        ("Idioma español", {}, "Los documentos deben publicarse también en español y en árabe."),
        ("Far future", {"Date": "Fri, 31 Dec 9999 23:59:59 +0000"}, "A date nobody can have."),
    ],
    ids=["ooo-words", "exchange-rule", "help", "thanks", "language-words", "idioma", "date-9999"],
)
def test_people_mail_is_never_lost_to_classification(
    talk: Conversation, subject: str, headers: dict[str, str], body: str
) -> None:
    talk.send(
        message(
            sender="ana@example.org",
            mid="p-1@example.org",
            subject=subject,
            body=body,
            headers=headers,
        )
    )
    raw = talk.outcome("p-1@example.org")
    assert raw.outcome == "contribution", raw.reason
    (receipt,) = talk.mails_to("ana@example.org")  # in the language of the text
    assert "[WGIG-0001]" in receipt["Subject"]
    with Session(talk.app.engine) as s:
        ana = s.exec(select(Participant).where(Participant.email == "ana@example.org")).one()
    assert ana.language in (None, "en", "es")  # "Idioma español" set nothing by itself


def test_one_answer_per_command_and_get_index(talk: Conversation) -> None:
    talk.send(
        message(
            sender="ana@example.org",
            mid="a-1@example.org",
            subject="[composition] Seats",
            body="One seat per region, rotating.",
        )
    )
    talk.send(
        message(
            sender="ana@example.org",
            mid="a-2@example.org",
            to=COMMANDS,
            subject="Thèmes",
            body="THEMES\nTEMAS",
        ),
        rcpts=(COMMANDS,),
    )
    (results,) = talk.mails_to("ana@example.org", "Results")
    text = results.get_content()
    assert text.count("working-methods") == 2  # one topics list (tag and address lines)
    talk.send(
        message(
            sender="kofi@example.gh",
            mid="k-1@example.gh",
            to=COMMANDS,
            subject="GET WGIG-0001",
            body="INDEX composition\nINDICE",
        ),
        rcpts=(COMMANDS,),
    )
    (answer,) = talk.mails_to("kofi@example.gh", "Results")
    body = answer.get_content()
    assert "One seat per region, rotating." in body  # GET: the published text
    assert body.count("WGIG-0001") >= 3  # GET header, INDEX composition, INDICE (all)
    talk.send(
        message(
            sender="kofi@example.gh", mid="k-2@example.gh", to=COMMANDS, subject="HELP", body=""
        ),
        rcpts=(COMMANDS,),
    )
    help_text = talk.mails_to("kofi@example.gh", "Results")[-1].get_content()
    assert "GET ref" in help_text and "INDEX [topic]" in help_text


def test_mail_to_both_addresses_is_filed_and_its_commands_run(talk: Conversation) -> None:
    raw = message(
        sender="ana@example.org",
        mid="both-1@example.org",
        subject="Composition",
        body="SUBSCRIBE\n\nWe want more members from Africa.",
        headers={"Cc": COMMANDS},
    )
    talk.send(raw, rcpts=(CONTRIB, COMMANDS))
    row = talk.outcome("both-1@example.org")
    assert row.outcome == "contribution" and "SUBSCRIBE" in (row.reason or ""), row.reason
    subjects = sorted(str(m["Subject"]).split(":")[0] for m in talk.mails_to("ana@example.org"))
    assert "Received" in subjects and "Results of your commands" in subjects


@pytest.mark.policy("hold-all")
def test_a_bare_approve_to_a_notice_uses_its_reference(talk: Conversation) -> None:
    chair = talk.app.consultation.moderators[0]
    talk.send(
        message(
            sender="ann@example.org", mid="h-1@example.org", body="Open the group to all regions."
        )
    )
    (held,) = talk.mails_to("ann@example.org")
    assert "waiting for a moderator" in held.get_content()
    (notice,) = talk.mails_to(chair)
    talk.send(
        reply_to(
            notice,
            sender=chair,
            mid="m-1@example.org",
            to=COMMANDS,
            top="APPROVE",
            attribution="On Tue, Dec 1, 2026, Consultation wrote:",
        ),
        rcpts=(COMMANDS,),
    )
    assert talk.contribution("WGIG-0001").status == "published"
    assert len(talk.mails_to("ann@example.org", "Received")) == 2  # told again: published


@pytest.mark.policy("hold-all")
def test_a_late_held_contribution_is_flagged_in_the_moderators_notice(
    talk: Conversation,
) -> None:
    from datetime import UTC, datetime

    assert isinstance(talk.app.clock, FrozenClock)
    talk.app.clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=UTC))  # after the deadline
    talk.send(
        message(
            sender="ann@example.org",
            mid="late-1@example.org",
            body="Sorry for the delay: open the group to all regions.",
        )
    )
    chair = talk.app.consultation.moderators[0]
    (notice,) = talk.mails_to(chair)
    assert "LATE" in notice.get_content()
    (held,) = talk.mails_to("ann@example.org")
    text = held.get_content()
    assert "after the deadline" in text and "waiting for a moderator" in text


def test_a_list_copy_with_a_command_subject_is_not_run(talk: Conversation) -> None:
    talk.send(
        message(
            sender="Ana <ana@example.org>",
            to=CAUCUS,
            mid="list-help@example.org",
            subject="Help",
            body="HELP",
            headers=LIST_HEADERS,
        )
    )
    assert talk.outcome("list-help@example.org").outcome == "contribution"
    assert talk.relay.messages == []


def test_a_reply_to_our_results_sent_to_the_command_address_is_never_filed(
    talk: Conversation,
) -> None:
    talk.send(
        message(
            sender="ana@example.org", mid="c-1@example.org", to=COMMANDS, subject="TOPICS", body=""
        ),
        rcpts=(COMMANDS,),
    )
    (results,) = talk.mails_to("ana@example.org", "Results")
    talk.send(
        reply_to(
            results,
            sender="ana@example.org",
            mid="c-2@example.org",
            to=COMMANDS,
            top="I do not understand what to do with these topics, sorry.",
            attribution="On Tue, Dec 1, 2026, Consultation wrote:",
        ),
        rcpts=(COMMANDS,),
    )
    assert talk.outcome("c-2@example.org").outcome == "command"
