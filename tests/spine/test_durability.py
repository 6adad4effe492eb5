"""What waits for the disk on SQLite: the listener's and the sender's commits, not the
pipeline's (worker.py explains why a receipt still never goes out for a lost filing)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from mailbot.db import make_engine

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def synchronous(url: str, **kwargs: bool) -> int:
    engine = make_engine(url, **kwargs)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            return int(conn.execute(text("PRAGMA synchronous")).scalar_one())
    finally:
        engine.dispose()


def test_commits_wait_for_the_disk_unless_told_not_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.sqlite3'}"
    assert synchronous(url) == FULL  # the 250 path, the sender's claims, everything else
    assert synchronous(url, durable=False) == NORMAL  # the pipeline child's filing only
