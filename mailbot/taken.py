"""Stored messages marked done as they are filed: one at a time, or a write turn's at once.

Alone (`take` first, `record` after), the UPDATE of a message still new locks its row for
the transaction and tells whether another worker or an earlier run finished it. In a write
turn (`Turn`) the outcomes of the contributions wait for the end of the turn: one UPDATE marks
them all done (only if every one of them was still new, else the turn is undone and its
messages are filed one at a time, which sees who finished what) and one executemany writes
their outcomes. Other outcomes are written as their message is filed, because the brake on
answers (hostile/ratelimit) counts the automatic ones in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session

from mailbot.models import RawMessage

RAW = RawMessage.__table__  # type: ignore[attr-defined]
# Built once (bound parameters): the hot path only executes them.
TAKE = (
    update(RAW)
    .where(RAW.c.id == bindparam("raw_id"), RAW.c.state == "new")
    .values(state="done", processed_at=bindparam("now"))
)
RECORD = (
    update(RAW)
    .where(RAW.c.id == bindparam("raw_id"))
    .values(outcome=bindparam("outcome"), reason=bindparam("reason"))
)
TAKE_ALL = (
    update(RAW)
    .where(RAW.c.id.in_(bindparam("ids", expanding=True)), RAW.c.state == "new")
    .values(state="done", processed_at=bindparam("now"))
)
TAKE_AND_RECORD = (
    update(RAW)
    .where(RAW.c.id == bindparam("raw_id"), RAW.c.state == "new")
    .values(
        state="done",
        processed_at=bindparam("now"),
        outcome=bindparam("outcome"),
        reason=bindparam("reason"),
    )
)


class DoneMeanwhile(Exception):
    """A message of the turn was no longer new: the turn is undone, and re-run one by one."""


def take(session: Session, raw_id: int, now: datetime) -> bool:
    """Mark the stored message done if it is still new; False when another worker or an
    earlier run finished it. The UPDATE locks the row until the transaction ends (what
    SELECT ... FOR UPDATE did), without loading its bytes again; a rollback makes it new."""
    taken = session.connection().execute(TAKE, {"raw_id": raw_id, "now": now})
    return bool(taken.rowcount)


def record(session: Session, raw_id: int, outcome: str, reason: str) -> None:
    """The outcome of a message `take` marked done."""
    values = {"raw_id": raw_id, "outcome": outcome, "reason": reason}
    session.connection().execute(RECORD, values)


class Turn:
    """The stored messages a write turn files, marked done in as few statements as it can."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now
        self.waiting: list[dict[str, object]] = []

    def done(self, raw_id: int, outcome: str, reason: str, *, wait: bool) -> None:
        """Message `raw_id` was filed with `outcome`; `wait`: written at the end of the turn."""
        values = {"raw_id": raw_id, "now": self.now, "outcome": outcome, "reason": reason}
        if wait:
            self.waiting.append(values)
            return
        written = self.session.connection().execute(TAKE_AND_RECORD, values)
        if not written.rowcount:
            raise DoneMeanwhile(f"message {raw_id} was done meanwhile")

    def close(self) -> None:
        """Before the commit: mark the waiting ones done (all still new, or undo the turn)."""
        if not self.waiting:
            return
        conn = self.session.connection()
        ids = [v["raw_id"] for v in self.waiting]
        taken = conn.execute(TAKE_ALL, {"ids": ids, "now": self.now}).rowcount
        if taken != len(ids):
            raise DoneMeanwhile(f"{len(ids) - taken} message(s) of the turn were done meanwhile")
        conn.execute(RECORD, self.waiting)
        self.waiting = []
