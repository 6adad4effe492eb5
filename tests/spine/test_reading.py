"""A contribution's text is read before the write turn (mailbot/reading.py): prepare puts its
reading on the parsed mail, filing takes the language, keyword topic, hash and campaign
fingerprint from it, and a mail without one is filed exactly as with it."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.campaigns.models import CampaignMember
from mailbot.db import write_scope
from mailbot.models import Contribution, RawMessage
from mailbot.pipeline import file_one
from mailbot.prepare import Prepared, prepare
from mailbot.reading import text_sha256
from mailbot.receive import RawIn, store_raw_batch

FRENCH = (
    "Le groupe de travail devrait publier tous ses documents de travail en ligne, avec une "
    "période de commentaires ouverte à tous, et réunir ses membres deux fois par an."
)


def stored(app: App, raws: list[bytes]) -> list[RawMessage]:
    results = store_raw_batch(app=app, items=[RawIn(raw=r, source="smtp") for r in raws])
    with Session(app.engine) as session:
        rows = [session.get(RawMessage, r.raw_id) for r in results]
    assert all(rows)
    return rows  # type: ignore[return-value]


def letter(n: int, body: str, subject: str = "A proposal") -> bytes:
    return (
        f"From: Person {n} <reader{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <reading-{n}@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def filed(app: App, item: Prepared) -> Contribution:
    with write_scope(app.engine) as session:
        outcome = file_one(app=app, session=session, item=item)
    assert outcome.outcome == "contribution", outcome
    with Session(app.engine) as session:
        return session.exec(select(Contribution).where(Contribution.raw_id == item.raw_id)).one()


def test_prepare_reads_a_contribution_and_nothing_else(app: App) -> None:
    autoreply = (
        b"From: a@example.org\r\nTo: contrib@consult.example.org\r\nSubject: Out of office\r\n"
        b"Auto-Submitted: auto-replied\r\nMessage-ID: <away@example.org>\r\n\r\nAway.\r\n"
    )
    contribution, away = stored(app, [letter(1, FRENCH), autoreply])
    item = prepare(app=app, raw=contribution)
    reading = item.mail.reading
    assert reading is not None
    assert reading.language == "fr"
    assert reading.keyword_topic == "composition"  # "membres"
    assert reading.text_sha256 == text_sha256(item.mail.text)
    assert reading.campaign is not None  # long enough to fingerprint
    other = prepare(app=app, raw=away)
    assert other.verdict.kind != "contribution" and other.mail.reading is None


def test_filing_takes_what_the_reading_says(app: App) -> None:
    (raw,) = stored(app, [letter(2, FRENCH)])
    item = prepare(app=app, raw=raw)
    assert item.mail.reading is not None
    # A reading that disagrees with the text: the filer must not have read the text again.
    told = dataclasses.replace(item.mail.reading, language="de", keyword_topic="working-methods")
    contribution = filed(
        app, dataclasses.replace(item, mail=dataclasses.replace(item.mail, reading=told))
    )
    assert contribution.language == "de"
    assert (contribution.topic, contribution.topic_rule) == ("working-methods", "keyword")


def test_a_mail_without_a_reading_is_filed_the_same(app: App) -> None:
    body = FRENCH + " Et la transparence avant tout."
    first, second = stored(app, [letter(3, body), letter(4, body, subject="Same letter")])
    read_before = prepare(app=app, raw=first)
    read_here = prepare(app=app, raw=second)
    assert read_here.mail.reading is not None
    a = filed(app, read_before)
    b = filed(
        app, dataclasses.replace(read_here, mail=dataclasses.replace(read_here.mail, reading=None))
    )
    assert (a.language, a.topic, a.topic_rule, a.text_sha256) == (
        b.language,
        b.topic,
        b.topic_rule,
        b.text_sha256,
    )
    with Session(app.engine) as session:
        members = {m.contribution_id: m for m in session.exec(select(CampaignMember)).all()}
    # The same letter twice: one campaign, whichever way the fingerprint was made.
    assert members[a.id].signature == members[b.id].signature  # type: ignore[index]
    assert members[b.id].campaign_id == members[a.id].campaign_id == a.id  # type: ignore[index]
