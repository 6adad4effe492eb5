"""Database engine and sessions: SQLite in WAL mode by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, None for an in-memory or a server database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, durable: bool = True) -> Engine:
    """An engine for `url`. `durable=False` (SQLite only) commits without waiting for the
    disk: for the pipeline's filing, whose commits become durable with the next durable
    commit of any connection (the WAL is one file, written in order) - see `worker.py`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if path := sqlite_file(url):
            # Raw mail is personal data: the file is the owner's alone (SQLite gives its -wal
            # and -shm files the same mode).
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(path, 0o600)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas if durable else _sqlite_pragmas_normal)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, synchronous: str = "FULL") -> None:
    # WAL lets readers run beside the one writer; synchronous=FULL makes a commit durable
    # before we answer 250 (NORMAL could lose the last commits on power loss).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={synchronous}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_pragmas_normal(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record, synchronous="NORMAL")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (areas add their own)."""
    command.upgrade(alembic_config(engine), "heads")


def _turn_files(engine: Engine) -> tuple[str, str] | None:
    """The write-turn lock file and the intake flag file of a SQLite database file."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database + "-writers.lock", url.database + "-intake.lock"


class Turn:
    """The write turn, held: `intake_waiting()` tells its holder to commit and step aside."""

    def __init__(self, flag: int | None = None) -> None:
        self._flag = flag  # the intake flag's descriptor; None for the intake or no SQLite

    def intake_waiting(self) -> bool:
        """True while the listener's group commit waits for the turn (or holds it)."""
        return self._flag is not None and _flag_up(self._flag)


def _flag_up(flag: int) -> bool:
    try:
        # The intake holds the flag exclusively while it waits: a shared probe fails.
        fcntl.flock(flag, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(flag, fcntl.LOCK_UN)
    return False


# A writer that finds the intake waiting lets it go first, at most this long: enough for the
# kernel to wake the waiter (a lock released and taken again in one thread beats the waiter
# the kernel is still waking). Longer, as when the 250s waited for this turn, only starves
# the pipeline: a storer committing back to back keeps the flag up.
GIVE_WAY = 0.002


def _take(*, flag: int, lock: int, intake: bool) -> None:
    if intake:
        # No writer blocks on the flag while it holds the turn: the locks cannot deadlock.
        fcntl.flock(flag, fcntl.LOCK_EX)  # the flag, raised until the intake's commit is done
    else:
        # Bounded: a listener committing back to back keeps the flag up, and must not starve
        # the others. They queue on the turn and, holding it, give way (the pipeline).
        deadline = time.monotonic() + GIVE_WAY
        while _flag_up(flag) and time.monotonic() < deadline:
            time.sleep(0.001)
    fcntl.flock(lock, fcntl.LOCK_EX)


@contextmanager
def write_turn(engine: Engine, *, intake: bool = False) -> Iterator[Turn]:
    """Writers to one SQLite file take turns on a file lock (nothing on other databases).

    SQLite has one writer at a time and its busy handler polls with sleeps, so a writer that
    commits batch after batch (the pipeline) starves one that waits (the listener's group
    commit, whose 250s wait on it). A waiter blocked on the file lock is woken by the kernel
    the moment the holder releases it, so the writers alternate instead.

    The intake (`intake=True`: the listener's group commit, `mailbot ingest`) raises a flag
    (an exclusive lock on a second file) while it waits and writes. The pipeline polls
    `Turn.intake_waiting()` after each message and commits once it has held the turn
    `pipeline.MIN_TURN`, so the storer waits for that and a commit, not a whole batch; the
    groups spooled meanwhile share its next commit.
    """
    paths = _turn_files(engine)
    if paths is None:
        yield Turn()
        return
    turn_path, flag_path = paths
    with open(flag_path, "a") as flag, open(turn_path, "a") as lock:
        try:
            _take(flag=flag.fileno(), lock=lock.fileno(), intake=intake)
            yield Turn(None if intake else flag.fileno())
        finally:
            # Closing the files drops both locks too; unlocking first says so explicitly.
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(flag, fcntl.LOCK_UN)


@contextmanager
def write_scope(engine: Engine) -> Iterator[Session]:
    """`session_scope` for a transaction that writes, in its turn (see `write_turn`)."""
    with write_turn(engine), session_scope(engine) as session:
        yield session


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
