"""Claims with leases (PostgreSQL): pipelines and senders share stored messages and outbox rows.

A claim is an UPDATE of the rows picked with `FOR UPDATE SKIP LOCKED`, so two processes
never take the same row, and it sets `claimed_by` / `claimed_until`: a process killed in the
middle of a batch leaves its rows to the others once the lease has run out. Nothing is done
twice: filing marks a message done only while it is still new (taken.py: alone, under its
row lock; a write turn's all at once, the turn undone and re-run one at a time if any was
finished meanwhile), and a row is marked sent only by the sender that handed it over.
Times are the database's, so hosts with skewed clocks agree on when a lease ends.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, text

from mailbot.db import session_scope


def owner() -> str:
    """Who claims: this process, named so an operator finds it (`mailbot status`)."""
    return f"{socket.gethostname()}:{os.getpid()}"


CLAIM_STORED = text(
    """
    UPDATE raw_message SET claimed_by = :me, claimed_until = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM raw_message
        WHERE state = 'new' AND (claimed_until IS NULL OR claimed_until < now())
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
)

CLAIM_OUTBOX = text(
    """
    UPDATE outbox_message SET status = 'sending', attempts = attempts + 1,
        claimed_by = :me, claimed_until = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM outbox_message
        WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING id
    """
)

# A sender that died with rows in `sending`: after the lease they are due again. At start-up
# (`every_unleased`) also rows with no lease: claimed before leases existed.
EXPIRED_SENDING = (
    "UPDATE outbox_message SET status = 'pending', claimed_by = NULL "
    "WHERE status = 'sending' AND (claimed_until < now() {})"
)


# Claimers that still hold a lease, and their rows handed back when the claimer is dead.
LEASED_BY = "SELECT DISTINCT claimed_by FROM {table} WHERE {state} AND claimed_until >= now()"
GIVE_BACK = (
    "UPDATE {table} SET claimed_until = now() - make_interval(secs => 1)"
    " WHERE {state} AND claimed_by = :who"
)
STATES = {"raw_message": "state = 'new'", "outbox_message": "status = 'sending'"}


def alive(claimer: str) -> bool:
    """Is the claimer alive? Known only for a process of this host (`host:pid`); one of
    another host is taken as alive, its lease decides."""
    host, _, pid = claimer.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user has that pid now
        return True
    return True


def give_back_dead(*, engine: Engine, table: str) -> int:
    """Rows leased to a process of this host that died (SIGKILL, OOM): back to the others at
    once, not when the lease runs out (`mailbot imap poll --once` after a crash files all)."""
    state = STATES[table]
    given = 0
    with session_scope(engine) as session:
        claimers = session.execute(text(LEASED_BY.format(table=table, state=state))).scalars()
        for claimer in [c for c in claimers if c and c != owner() and not alive(c)]:
            sql = text(GIVE_BACK.format(table=table, state=state))
            given += int(session.execute(sql, {"who": claimer}).rowcount or 0)  # type: ignore[attr-defined]
    return given


def claim_stored(*, engine: Engine, limit: int, lease: int) -> list[int]:
    """Stored messages this process now works on, oldest first."""
    give_back_dead(engine=engine, table="raw_message")
    with session_scope(engine) as session:
        rows = session.execute(CLAIM_STORED, {"me": owner(), "lease": lease, "limit": limit})
        return sorted(int(r[0]) for r in rows)


def claim_outbox(*, engine: Engine, now: datetime, limit: int, lease: int) -> list[int]:
    """Due outbox rows this sender now owns (status `sending`), oldest first."""
    with session_scope(engine) as session:
        params = {"me": owner(), "lease": lease, "limit": limit, "now": now}
        return sorted(int(r[0]) for r in session.execute(CLAIM_OUTBOX, params))


def release_expired(*, engine: Engine, every_unleased: bool = False) -> int:
    give_back_dead(engine=engine, table="outbox_message")
    sql = text(EXPIRED_SENDING.format("OR claimed_until IS NULL" if every_unleased else ""))
    with session_scope(engine) as session:
        return int(session.execute(sql).rowcount or 0)  # type: ignore[attr-defined]


RENEW = text(
    "UPDATE outbox_message SET claimed_until = now() + make_interval(secs => :lease) "
    "WHERE id = ANY(:ids) AND status = 'sending' AND claimed_by = :me"
)


class OutboxLease:
    """A sender working through its claimed rows renews their lease every third of it, so a
    slow relay does not let another sender take rows that are still being sent."""

    def __init__(self, *, engine: Engine, lease: int) -> None:
        self.engine, self.lease, self.renewed = engine, lease, time.monotonic()

    def keep(self, ids: Sequence[int]) -> None:
        if not ids or time.monotonic() - self.renewed < self.lease / 3:
            return
        with session_scope(self.engine) as session:
            session.execute(RENEW, {"ids": list(ids), "lease": self.lease, "me": owner()})
        self.renewed = time.monotonic()
