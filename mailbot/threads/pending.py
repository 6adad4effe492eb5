"""New conversations' thread ids, written once per transaction instead of once a message.

Most contributions start a conversation: the new Thread row is inserted at once (its id is
needed), but the contribution's own `thread_id` / `parent_id` wait in `session.info` and go
in one executemany before the commit, or as soon as anything may read them from the
database first: the component search before it loads contribution rows (`write`), any ORM
statement of the session (`do_orm_execute`). The objects the session holds have the values
already (as committed state), so the ORM never writes them again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from mailbot.threads.probes import marks

KEY = "mailbot.threads.pending"  # session.info: [(thread, parent, contribution)]
HOOKED = KEY + ".hooked"


def defer(session: Session, moves: list[tuple[int, Any, Any]]) -> None:
    """(thread, parent, contribution) rows to write before anyone reads them."""
    pending: list[tuple[int, Any, Any]] | None = session.info.get(KEY)
    if pending is None:
        pending = session.info[KEY] = []
        if not session.info.get(HOOKED):
            session.info[HOOKED] = True
            event.listen(session, "before_commit", write)
            event.listen(session, "do_orm_execute", lambda state: write(state.session))
            event.listen(session, "after_rollback", lambda s: s.info.pop(KEY, None))
    pending.extend(moves)


def write(session: Session) -> None:
    """Write what waits (nothing when nothing does)."""
    moves = session.info.pop(KEY, None)
    if moves:
        conn = session.connection()
        mark = marks(conn, 1)
        conn.exec_driver_sql(
            f"UPDATE contribution SET thread_id = {mark}, parent_id = {mark} WHERE id = {mark}",
            moves,
        )
