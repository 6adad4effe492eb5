"""Participants: the one lookup by address, and finding or creating one.

Looked up once per transaction (a pipeline batch is one transaction) and kept in
`session.info`, so a batch that acknowledges, rate-limits and threads for the same person
asks the database once; `prefetch_participants` asks for a whole batch's senders at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mailbot.models import Participant
from mailbot.rows import insert_new

TABLE = Participant.__table__  # type: ignore[attr-defined]
KNOWN = select(TABLE.c.email).where(TABLE.c.email.in_(bindparam("emails", expanding=True)))
CACHE_KEY = "mailbot.participants"
CHUNK = 500  # addresses per IN (...): well below every database's bound on parameters


def _cache(session: Session) -> dict[str, Participant | None]:
    cache: dict[str, Participant | None] = session.info.setdefault(CACHE_KEY, {})
    return cache


def get_participant(*, session: Session, email: str) -> Participant | None:
    cache = _cache(session)
    if email not in cache:
        cache[email] = session.exec(select(Participant).where(Participant.email == email)).first()
    return cache[email]


def prefetch_participants(*, session: Session, emails: Iterable[str]) -> None:
    """Look up every address of a batch not looked up yet in one SELECT (per CHUNK); the
    misses are kept too (as None), so filing a batch of new senders asks nothing more."""
    cache = _cache(session)
    wanted = sorted({e for e in emails if e and e not in cache})
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        # Which exist, with a Core SELECT; ORM rows only for those (new senders cost none).
        known = session.connection().execute(KNOWN, {"emails": chunk})
        hits = [email for (email,) in known]
        found: dict[str, Participant] = {}
        if hits:
            rows = session.exec(select(Participant).where(col(Participant.email).in_(hits)))
            found = {p.email: p for p in rows}
        for email in chunk:
            cache[email] = found.get(email)


def find_or_create_participant(
    *, session: Session, email: str, name: str, now: datetime, language: str | None = None
) -> Participant:
    participant = get_participant(session=session, email=email)
    if participant is None:
        values = {"email": email, "display_name": name or None, "first_seen": now}
        participant = insert_new(session, Participant, values | {"language": language})
        _cache(session)[email] = participant
    elif name and not participant.display_name:
        participant.display_name = name
        session.add(participant)
    return participant
