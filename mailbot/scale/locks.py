"""PostgreSQL advisory locks: what must be serial across processes, and who leads a role.

A lock's key is a hash of the database, the schema (`current_schema()`, so consultations and
test schemas sharing one database never block each other) and a name that starts with the
consultation id. Nothing here does anything on SQLite: one process files there.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

log = logging.getLogger(__name__)

KEY = "hashtextextended(current_database() || '/' || current_schema() || '/' || :name, 0)"


def on_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def serial(session: Session, *, name: str) -> None:
    """Until this transaction ends, nobody else (any process) passes `serial` with `name`."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({KEY})"), {"name": name})


class Leadership:
    """A session-level advisory lock held on its own connection: while the connection lives,
    this process leads `name`; when the process dies, PostgreSQL ends its session and the
    lock goes to the next process that asks."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            got = bool(
                conn.execute(
                    text(f"SELECT pg_try_advisory_lock({KEY})"), {"name": self.name}
                ).scalar_one()
            )
            conn.commit()  # the lock is the session's: no transaction stays open
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self.conn = conn
        return True

    def alive(self) -> bool:
        """Still leading: the lock's connection answers."""
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))
            self.conn.commit()
            return True
        except Exception as exc:
            log.error("leader lock %s lost: %s", self.name, exc)
            self.conn.invalidate()
            self.conn = None
            return False

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(text(f"SELECT pg_advisory_unlock({KEY})"), {"name": self.name})
            self.conn.commit()
        except Exception as exc:  # the session is gone: so is the lock
            log.warning("leader lock %s: release failed (%s)", self.name, exc)
        finally:
            self.conn.close()
            self.conn = None
