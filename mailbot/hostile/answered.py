"""The answers log (`reply_log`) as the rate limits count it, read once per transaction.

A pipeline batch is one transaction that answers many people. Counting each one's answers
with its own SELECT cost more than the answer itself, so the log is read a batch at a time
and kept, with what the transaction adds, in `session.info` until the transaction ends:
- per recipient: the times of the answers sent in the window, for every sender of the batch
  (the participants' cache lists them) in one SELECT, then the ones this transaction adds;
- the global brake: the answers in its window, counted once, then the ones added;
- the mail refused or automatic-looking in the brake's window, counted once.
Rows wait for the end of the transaction (`mailbot.deferred`: one executemany), or for the
first read of the log on the connection (`logged`, `_read_times` write them first); any
session query writes them too, so every other reader sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, event, func, insert
from sqlmodel import Session, col, select

from mailbot import deferred
from mailbot.clock import utc
from mailbot.hostile.models import ReplyLog
from mailbot.models import RawMessage
from mailbot.participants import CACHE_KEY as PARTICIPANTS_KEY

SENT = ("queued", "braked", "delayed")
AUTOMATIC_OUTCOMES = ("autoreply", "bounce", "loop", "complaint", "quarantine", "invalid")
TX_KEY = "mailbot.answered"  # session.info: the Answered of the transaction
CHUNK = 500  # addresses per IN (...), as participants.prefetch_participants
TABLE = ReplyLog.__table__  # type: ignore[attr-defined]
LOG_ROW = insert(TABLE)


@dataclass
class Answered:
    """What one transaction knows of the log (see the module's docstring)."""

    sqlite: bool  # SQLite compares stored times as written (no offset): so do we
    since: datetime | None = None  # the window start the times were read for
    times: dict[str, list[datetime]] = field(default_factory=dict)
    brake: int | None = None  # answers in the brake's window
    automatic: int | None = None  # mail refused or automatic-looking in it


def _end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction, not a savepoint in it
        session.info.pop(TX_KEY, None)


def _answered(session: Session) -> Answered:
    known: Answered | None = session.info.get(TX_KEY)
    if known is None:
        sqlite = session.connection().dialect.name == "sqlite"
        known = session.info[TX_KEY] = Answered(sqlite=sqlite)
        # Kept for this transaction only: the next one sees what others wrote meanwhile.
        if not event.contains(session, "after_transaction_end", _end):
            event.listen(session, "after_transaction_end", _end)
    return known


def _moment(known: Answered, at: datetime) -> datetime:
    # As the database compares: SQLite the written wall-clock time, PostgreSQL the instant.
    return at.replace(tzinfo=None) if known.sqlite else utc(at)


@lru_cache(maxsize=8)
def _logged_statement(decisions: tuple[str, ...], one_recipient: bool) -> Select[Any]:
    statement = (
        select(func.count())
        .select_from(TABLE)
        .where(TABLE.c.at > bindparam("since", type_=TABLE.c.at.type))
        .where(TABLE.c.decision.in_(decisions))
    )
    if one_recipient:
        statement = statement.where(TABLE.c.recipient == bindparam("recipient"))
    return statement


def logged(
    session: Session, *, since: datetime, decisions: tuple[str, ...], recipient: str | None = None
) -> int:
    """Answers logged after `since` with one of `decisions` (to `recipient`, or to anyone),
    counted now on the transaction's connection (the rare paths: notices, the brake)."""
    deferred.write(session, TABLE.name)  # the transaction's own answers count
    statement = _logged_statement(decisions, recipient is not None)
    params = {"since": since, "recipient": recipient}
    return int(session.connection().execute(statement, params).scalar_one())


TIMES = (
    select(TABLE.c.recipient, TABLE.c.at)
    .where(TABLE.c.at > bindparam("since", type_=TABLE.c.at.type))
    .where(TABLE.c.decision.in_(SENT))
    .where(TABLE.c.recipient.in_(bindparam("recipients", expanding=True)))
)


def _read_times(session: Session, known: Answered, recipient: str, since: datetime) -> None:
    """The sent answers' times of `recipient` and of every batch sender not read yet."""
    if known.since is None or since < known.since:  # first read, or the clock went back
        known.times, known.since = {}, since
    batch = session.info.get(PARTICIPANTS_KEY, {})
    unread = {recipient, *(e.lower() for e in batch if e)} - known.times.keys()
    # Answers this transaction logged to them and not written yet count too (the others
    # were counted as they were logged).
    if any(row["recipient"] in unread for row in deferred.waiting(session, TABLE.name)):
        deferred.write(session, TABLE.name)
    wanted = sorted(unread)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        for r in chunk:
            known.times[r] = []
        params = {"since": known.since, "recipients": chunk}
        for r, at in session.connection().execute(TIMES, params):
            known.times[r].append(_moment(known, at))


def sent_to(session: Session, *, recipient: str, since: datetime) -> int:
    """Answers sent (queued, braked or delayed) to `recipient` after `since`: as `logged`
    counts them, from the transaction's reading of the log (one SELECT a batch)."""
    known = _answered(session)
    if recipient not in known.times or known.since is None or since < known.since:
        _read_times(session, known, recipient, since)
    after = _moment(known, since)
    return sum(1 for at in known.times[recipient] if at > after)


def log_answer(
    session: Session, *, now: datetime, recipient: str, kind: str, dedupe_key: str, decision: str
) -> None:
    """One row of the log (written with the transaction's others, no model object), and the
    transaction's counts."""
    row = {"at": now, "recipient": recipient, "kind": kind, "dedupe_key": dedupe_key}
    deferred.add(session, LOG_ROW, {**row, "decision": decision})
    known = session.info.get(TX_KEY)
    if known is None or decision not in SENT:
        return
    if recipient in known.times:
        known.times[recipient].append(_moment(known, now))
    if known.brake is not None:
        known.brake += 1


def recent_answers(session: Session, *, since: datetime) -> int:
    """The answers the global brake counts: counted once per transaction (a pipeline batch),
    then kept up to date by `log_answer`, instead of a COUNT over the window every answer."""
    known = _answered(session)
    if known.brake is None:
        known.brake = logged(session, since=since, decisions=SENT)
    return known.brake


def automatic_mail(session: Session, *, since: datetime) -> int:
    """The mail we refused or found automatic in the brake's window, counted once per
    transaction: over the brake, a COUNT over the stored mail for every answer made a rush
    slower as it went."""
    known = _answered(session)
    if known.automatic is None:
        known.automatic = int(
            session.exec(
                select(func.count())
                .select_from(RawMessage)
                .where(RawMessage.received_at > since)
                .where(col(RawMessage.outcome).in_(AUTOMATIC_OUTCOMES))
            ).one()
        )
    return known.automatic
