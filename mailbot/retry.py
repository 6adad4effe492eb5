"""Temporary database failures: recognised, and retried with backoff instead of quarantining.

A locked or busy SQLite database, a PostgreSQL deadlock or serialization failure says nothing
about the message being filed: the same work succeeds a moment later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
TRANSIENT_SQLITE = ("database is locked", "database is busy", "database table is locked")


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return any(text in str(exc.orig).lower() for text in TRANSIENT_SQLITE)


def with_retries(work: Callable[[], T], *, attempts: int = 6, first_wait: float = 0.05) -> T:
    """Run `work`; on a temporary database failure wait (doubling, up to 2 s) and run it
    again. After `attempts` the failure is raised: the caller's loop tries later."""
    wait = first_wait
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            log.warning("temporary database failure (%s); retry %d in %.2f s", exc, attempt, wait)
            time.sleep(wait)
            wait = min(wait * 2, 2.0)
    raise AssertionError("unreachable")  # pragma: no cover
