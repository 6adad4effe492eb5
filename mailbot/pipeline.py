"""The pipeline: stored raw -> checks -> parse -> classify -> act -> outbox, on the app's road.

Work goes in batches: the stored messages of a batch are read, checked, parsed and classified
before any write (nothing slow runs while the write lock is held), then filed in ONE
transaction. If that transaction fails, the batch is re-run one message at a time, so only the
message that fails for its own content goes to quarantine (with its error); its raw bytes
stay, and `mailbot replay` walks it down the same road again. A temporary database failure
(locked, deadlock) is retried with backoff and never quarantines anything. A transaction
marks its contributions' stored messages done together at its end (taken.py); one that was
done meanwhile undoes the transaction, and the one-at-a-time run sees who finished it.

On PostgreSQL several pipeline processes share the work: each claims its batch with a lease
(scale/claims.py), and filing itself is serial across them (one advisory lock per
consultation, taken first in each filing transaction), so tracking references follow the
order of filing, threads see every earlier reply, and a moderation token is decided once.
Parsing and classifying, the CPU work, run in parallel.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mailbot import taken
from mailbot.act import Outcome, act
from mailbot.app import App
from mailbot.db import session_scope, write_scope, write_turn
from mailbot.models import RawMessage
from mailbot.participants import prefetch_participants
from mailbot.prepare import Prepared, prepare
from mailbot.preparer import Ahead, Preparer
from mailbot.retry import is_transient, with_retries
from mailbot.scale.claims import claim_stored
from mailbot.scale.locks import on_postgres, serial

log = logging.getLogger(__name__)

BATCH = 64  # stored messages read and parsed per round
# The write turn (db.write_turn, SQLite): filing polls `Turn.intake_waiting()` after each
# message and commits as soon as the listener's storer waits, once it has held the turn
# MIN_TURN seconds; TURN bounds a transaction when nobody waits. The 250s wait for the
# listener's spool, not for this: the storer's commits only need to keep up, and take every
# group spooled meanwhile, so the turn is mostly the filer's (a receipt a message).
TURN = 0.2
MIN_TURN = 0.05
PREFETCH = 8  # senders looked up at once; a turn may end before it reaches them all


RAW = RawMessage.__table__  # type: ignore[attr-defined]
DONE_BEFORE = select(RAW.c.message_id, RAW.c.state, RAW.c.outcome, RAW.c.reason).where(
    RAW.c.id == bindparam("raw_id")
)


def _done_before(session: Session, raw_id: int) -> Outcome:
    row = session.connection().execute(DONE_BEFORE, {"raw_id": raw_id}).first()
    if row is None:
        raise LookupError(f"no raw message {raw_id}")
    return Outcome(raw_id, row.message_id, row.outcome or row.state, row.reason or "already done")


def file_one(*, app: App, session: Session, item: Prepared) -> Outcome:
    """Act on one prepared message inside the caller's transaction."""
    serial(session, name=f"{app.consultation.id}/filing")  # PostgreSQL: one filer at a time
    if not taken.take(session, item.raw_id, app.clock.now()):
        return _done_before(session, item.raw_id)
    outcome = _act(app, session, item)
    taken.record(session, item.raw_id, outcome.outcome, outcome.reason)
    return outcome


def _act(app: App, session: Session, item: Prepared) -> Outcome:
    raw = item.raw
    if raw is None:  # prepared elsewhere: read it (its bytes too) once
        raw = session.get(RawMessage, item.raw_id)
        assert raw is not None
    return act(app=app, session=session, raw=raw, mail=item.mail, verdict=item.verdict)


def _log(outcome: Outcome) -> None:
    log.info(
        "message %s <%s>: %s (%s)%s",
        outcome.raw_id,
        outcome.message_id,
        outcome.outcome,
        outcome.reason,
        f" {outcome.ref} [{outcome.topic}]" if outcome.ref else "",
    )


def _walk_one(app: App, raw_id: int) -> Outcome:
    # Checks, parsing and classifying (HTML sanitising, MIME walking) run BEFORE the write
    # transaction, so one slow message never holds the lock other deliveries wait for.
    with session_scope(app.engine) as session:
        raw = session.get(RawMessage, raw_id)
        if raw is None:
            raise LookupError(f"no raw message {raw_id}")
        if raw.state != "new":
            return Outcome(
                raw_id, raw.message_id, raw.outcome or raw.state, raw.reason or "already done"
            )
    item = prepare(app=app, raw=raw)
    with write_scope(app.engine) as session:
        return file_one(app=app, session=session, item=item)  # re-checks the state, locked


def process_one(*, app: App, raw_id: int) -> Outcome:
    """Walk one stored message down the road; quarantine it if it fails for its content."""
    try:
        outcome = with_retries(lambda: _walk_one(app, raw_id))
    except Exception as exc:
        if is_transient(exc):
            raise  # the database, not the message: the caller's loop tries again later
        return quarantine(app=app, raw_id=raw_id, exc=exc)
    _log(outcome)
    return outcome


def quarantine(*, app: App, raw_id: int, exc: Exception) -> Outcome:
    error = f"{type(exc).__name__}: {exc}"
    log.error("message %s quarantined: %s", raw_id, error)
    with write_scope(app.engine) as session:
        raw = session.get(RawMessage, raw_id, with_for_update=True)
        if raw is None:
            raise exc
        if raw.state != "new":
            # Another processor (`mailbot ingest` beside `mailbot run`) filed it first and
            # the unique constraints stopped this second filing: its outcome stands.
            log.info("message %s was processed elsewhere meanwhile (%s)", raw_id, error)
            return Outcome(raw_id, raw.message_id, raw.outcome or raw.state, "already done")
        raw.state, raw.outcome = "quarantined", "quarantine"
        trace = "".join(traceback.format_exception(exc, limit=8))[-4000:]
        raw.reason = error + "\n" + trace
        raw.processed_at = app.clock.now()
        session.add(raw)
        return Outcome(raw_id, raw.message_id, "quarantine", error)


def _read_batch(app: App, raw_ids: Sequence[int]) -> tuple[list[RawMessage], list[int]]:
    """The stored messages still new, oldest first, and the ids gone meanwhile."""
    with session_scope(app.engine) as session:
        rows = session.exec(
            select(RawMessage).where(col(RawMessage.id).in_(raw_ids), RawMessage.state == "new")
        ).all()
    found = {r.id for r in rows}
    return sorted(rows, key=lambda r: r.id or 0), [i for i in raw_ids if i not in found]


def _prefetch(session: Session, items: Sequence[Prepared]) -> None:
    senders = (i.mail.from_addr or (i.mail.envelope_from or "").lower() for i in items)
    prefetch_participants(session=session, emails=senders)


def _file_some(app: App, todo: list[Prepared], more: Callable[[], list[Prepared]]) -> list[Outcome]:
    """File items from the first, in one transaction, until the listener wants the write
    turn or the turn is used up (at least one item, so receipts always move). Items the
    helper finished meanwhile join the turn (appended to `todo`): one commit for as many
    receipts as the turn has time for, not one per chunk the helper hands over."""
    with write_turn(app.engine) as turn, session_scope(app.engine) as session:
        started = time.monotonic()
        serial(session, name=f"{app.consultation.id}/filing")  # PostgreSQL: one filer at a time
        marks = taken.Turn(session, app.clock.now())  # raises DoneMeanwhile: one at a time
        outcomes: list[Outcome] = []
        while len(outcomes) < len(todo):
            n = len(outcomes)
            if n % PREFETCH == 0:  # the next senders in one SELECT (the participant cache)
                _prefetch(session, todo[n : n + PREFETCH])
            item = todo[n]
            outcome = _act(app, session, item)
            # A contribution's outcome is written with the turn's (nobody counts them).
            wait = item.verdict.kind == "contribution"
            marks.done(item.raw_id, outcome.outcome, outcome.reason, wait=wait)
            outcomes.append(outcome)
            held = time.monotonic() - started
            if held > TURN or (held > MIN_TURN and turn.intake_waiting()):
                break  # commit: the listener's storer goes next
            if len(outcomes) == len(todo):
                todo += more()
        marks.close()
        return outcomes


def process_batch(
    *, app: App, raw_ids: Sequence[int], preparer: Preparer | None = None
) -> list[Outcome]:
    """File a batch in as few transactions as the write turn allows; if one fails, re-run
    its messages one at a time."""
    return _file_batch(app, *_open(app, raw_ids, preparer))


def _open(app: App, raw_ids: Sequence[int], preparer: Preparer | None) -> tuple[Ahead, list[int]]:
    """The batch's rows, handed to the helper at once (`Ahead`), and the ids gone meanwhile."""
    rows, gone = _read_batch(app, raw_ids)
    return Ahead(app, rows, preparer), gone


def _file_batch(app: App, ahead: Ahead, gone: list[int]) -> list[Outcome]:
    """Messages are prepared ahead of the turns (`Ahead`), so while the listener commits
    (and waits for the disk) the next ones are parsed instead of waiting for the turn."""
    todo: list[Prepared] = []
    outcomes: list[Outcome] = []
    while todo := todo + ahead.more(len(todo)):
        try:
            # a turn extends `todo` in place with what the helper finishes meanwhile
            done = with_retries(lambda todo=todo: _file_some(app, todo, ahead.finished))  # type: ignore[misc]
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("a batch of %d failed (%s); filing one at a time", len(todo), exc)
            outcomes += [process_one(app=app, raw_id=item.raw_id) for item in todo]
            todo = []
            continue
        for outcome in done:
            _log(outcome)
        outcomes += done
        todo = todo[len(done) :]
    alone = sorted(gone + ahead.alone)
    return outcomes + [process_one(app=app, raw_id=raw_id) for raw_id in alone]


def pending_ids(*, app: App, limit: int = 500, after: int = 0) -> list[int]:
    """Stored messages to file next, oldest first (ids above `after` on SQLite; on
    PostgreSQL the ones claimed before are leased, so a claim never returns them again)."""
    if on_postgres(app.engine):  # other pipelines may be running: claim, with a lease
        return claim_stored(engine=app.engine, limit=limit, lease=app.settings.server.claim_lease)
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(RawMessage.id)
                .where(RawMessage.state == "new", col(RawMessage.id) > after)
                .order_by(RawMessage.id)  # type: ignore[arg-type]
                .limit(limit)
            )
        )


def process_pending(
    *,
    app: App,
    limit: int | None = None,
    progress: Callable[[Outcome], None] | None = None,
    preparer: Preparer | None = None,
) -> list[Outcome]:
    """Process every stored message not yet processed, oldest first, in batches. With a
    helper, the next batch is handed to it before this one is filed, so the filer does not
    wait for the first messages of each batch to be prepared."""
    outcomes: list[Outcome] = []
    taken_ids = 0

    def take(after: int) -> tuple[Ahead, list[int], int] | None:
        nonlocal taken_ids
        wanted = BATCH if limit is None else min(BATCH, limit - taken_ids)
        ids = pending_ids(app=app, limit=wanted, after=after) if wanted > 0 else []
        if not ids:
            return None
        taken_ids += len(ids)
        return (*_open(app, ids, preparer), ids[-1])

    batch = take(0)
    while batch is not None:
        ahead, gone, last = batch
        following = take(last) if preparer is not None else None  # the helper starts on it
        for outcome in _file_batch(app, ahead, gone):
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        # Every id up to `last` is done now (filed, quarantined, or an error raised).
        batch = following or take(last)
    return outcomes
