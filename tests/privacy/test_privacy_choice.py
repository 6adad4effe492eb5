"""The publication choice as authors write it (EN/FR/ES), and the owner of what is shown:
its Python and SQL forms agree on every combination."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from mailbot.app import App
from mailbot.models import Contribution, Participant, RawMessage
from mailbot.parse import parse
from mailbot.privacy.choice import read_choice, strip_choice_tags
from mailbot.privacy.shown import author_column, public_clause, shown


def mail(subject: str, body: str) -> bytes:
    return (
        f"From: Ana <ana@example.org>\r\nTo: contrib@consult.example.org\r\nSubject: {subject}"
        "\r\nMessage-ID: <c@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("[anonymous] Open meetings", "Text.", ("anonymous", None)),
        ("Réunions ouvertes [Anonyme]", "Texte.", ("anonymous", None)),
        ("[anónimo] Reuniones abiertas", "Texto.", ("anonymous", None)),
        ("[CONFIDENTIAL] Security", "Text.", ("confidential", None)),
        ("[confidentiel] Sécurité", "Texte.", ("confidential", None)),
        ("[confidencial] Seguridad", "Texto.", ("confidential", None)),
        ("Open meetings", "Text.\n\nPublish: anonymous", ("anonymous", None)),
        ("Réunions", "Texte.\n\nPublier : confidentiel", ("confidential", None)),
        (
            "Reuniones",
            "Texto.\n\nPublicar: nombre\nOrganización: ISOC España",
            ("name", "ISOC España"),
        ),
        ("Open meetings", "Text.\n\nOrganisation: ISOC France", (None, "ISOC France")),
        # A Publish line wins over a tag; a topic tag is not a choice.
        ("[anonymous] Text", "Publish: name", ("name", None)),
        ("[general] Open meetings", "Publish is not a line here.", (None, None)),
    ],
)
def test_the_choice_as_authors_write_it(
    subject: str, body: str, expected: tuple[str | None, str | None]
) -> None:
    choice = read_choice(parse(mail(subject, body)))
    assert (choice.publication, choice.organisation) == expected


def test_choice_tags_leave_the_subject_but_topic_tags_stay() -> None:
    assert strip_choice_tags("[anonymous] [general] Open meetings") == "[general] Open meetings"
    assert strip_choice_tags("Sécurité [Confidentiel]") == "Sécurité"


def test_python_and_sql_forms_of_what_is_shown_agree(app: App) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    combos = list(
        itertools.product(
            ("published", "held"),
            ("name", "anonymous", "confidential", None),
            ("Ana Díaz", None, ""),
            ("ISOC", None),
            (None, now),
        )
    )
    with Session(app.engine) as session:
        person = Participant(email="ana@example.org", first_seen=now)
        session.add(person)
        session.flush()
        for n, (status, publication, name, org, erased) in enumerate(combos):
            raw = RawMessage(
                received_at=now, source="ingest", content_sha256=f"{n:064d}", size=1, raw=b"x"
            )
            session.add(raw)
            session.flush()
            session.add(
                Contribution(
                    consultation_id="wgig",
                    ref=f"WGIG-{n:04d}",
                    raw_id=raw.id,
                    participant_id=person.id,
                    topic="general",
                    topic_rule="default",
                    subject="s",
                    author_name=name,
                    language="en",
                    text="t",
                    text_sha256="0",
                    received_at=now,
                    status=status,
                    publication=publication,
                    organisation=org,
                    erased_at=erased,
                )
            )
        session.commit()
        C = Contribution.__table__.c  # type: ignore[attr-defined]
        # An explicit None on INSERT takes the column's default ("name", as for old rows):
        # the filing step sets "no choice yet" by an UPDATE, as here.
        waiting = [f"WGIG-{n:04d}" for n, combo in enumerate(combos) if combo[1] is None]
        session.execute(
            update(Contribution.__table__).where(C.ref.in_(waiting)).values(publication=None)
        )  # type: ignore[attr-defined]
        session.commit()
        C = Contribution.__table__.c  # type: ignore[attr-defined]
        rows = session.execute(
            select(C.ref, public_clause(C).label("public"), author_column(C).label("author"))
        ).all()
    assert len(rows) == len(combos)
    for ref, public, author in rows:
        status, publication, name, org, erased = combos[int(ref.split("-")[1])]
        expected = shown(
            status=status,
            publication=publication,
            author_name=name,
            organisation=org,
            erased_at=erased,
        )
        assert bool(public) == expected.public, ref
        if expected.public:
            assert author == expected.author, (ref, status, publication, name, org, erased)
    assert (
        shown(
            status="published",
            publication="name",
            author_name="Ana",
            organisation="ISOC",
            erased_at=None,
        ).author
        == "Ana (ISOC)"
    )
