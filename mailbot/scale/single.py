"""SQLite takes one pipeline: a second one is refused, with a message saying what to do."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from mailbot.db import sqlite_file


class SecondPipeline(Exception):
    """Another process already runs the pipeline on this SQLite database."""


@contextmanager
def only_pipeline(db_url: str) -> Iterator[None]:
    """Hold the pipeline lock file next to a SQLite database (nothing on PostgreSQL).

    The lock is an flock on `<db>-pipeline.lock`: the kernel drops it when the process dies,
    so a crashed bot never blocks the next start.
    """
    path = sqlite_file(db_url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + "-pipeline.lock")
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SecondPipeline(
                f"another mailbot process already runs the pipeline on {path} "
                f"(it holds {lock_path}). SQLite has one writer and takes one pipeline: "
                "stop the other process, or move to PostgreSQL to run several."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
