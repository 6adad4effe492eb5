"""Participants: the one lookup by address, and finding or creating one.

Looked up once per transaction (a pipeline batch is one transaction) and kept in
`session.info`, so a batch that acknowledges, rate-limits and threads for the same person
asks the database once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from mailbot.models import Participant

CACHE_KEY = "mailbot.participants"


def get_participant(*, session: Session, email: str) -> Participant | None:
    cache: dict[str, Participant | None] = session.info.setdefault(CACHE_KEY, {})
    if email not in cache:
        cache[email] = session.exec(select(Participant).where(Participant.email == email)).first()
    return cache[email]


def find_or_create_participant(
    *, session: Session, email: str, name: str, now: datetime, language: str | None = None
) -> Participant:
    participant = get_participant(session=session, email=email)
    if participant is None:
        participant = Participant(
            email=email, display_name=name or None, first_seen=now, language=language
        )
        session.add(participant)
        session.flush()
        session.info[CACHE_KEY][email] = participant
    elif name and not participant.display_name:
        participant.display_name = name
        session.add(participant)
    return participant
