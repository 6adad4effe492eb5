"""The plain SQL the threading component search asks, by index, for every new contribution.

Plain SQL on the session's connection: these run for every contribution filed, and the
statements' construction and compilation would cost more than their work. Every probe
answers rows of (part, id, consultation, subject key, topic): part 0 is a contribution that
shares a Message-ID, part 1 a thread a subject merge could join, so the two can be asked
in one statement (UNION ALL).

None of them filters on the consultation in SQL: SQLite's planner, given
``consultation_id = ?`` next to ``message_id IN (...)``, walks the consultation index (every
contribution of the consultation, each message) rather than the Message-ID one. The
consultation is checked on the few rows that come back instead (`answer`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect

from mailbot.threads.models import MSGID_LENGTH, Thread

Probe = tuple[str, tuple[Any, ...]]  # (SQL, parameters)
Shape = tuple[frozenset[tuple[str, str]], datetime, datetime]  # (key, topic) pairs, dates


def marks(conn: Connection, count: int) -> str:
    """``count`` placeholders in the driver's style."""
    return ", ".join(["?" if conn.dialect.name == "sqlite" else "%s"] * count)


def as_date(conn: Connection, moment: datetime) -> Any:
    """A datetime as the dialect's DateTime column stores it (SQLite: text)."""
    process = _date_processor(conn.dialect)
    return process(moment) if process else moment


@lru_cache(maxsize=4)
def _date_processor(dialect: Dialect) -> Callable[[Any], Any] | None:
    column = Thread.__table__.c.first_date.type  # type: ignore[attr-defined]
    return column.dialect_impl(dialect).bind_processor(dialect)


def sharing(conn: Connection, ids: list[str]) -> Probe:
    """(a): contributions with one of the Message-IDs, or naming one (only their ids: the
    rows are loaded when there are any, which for a new conversation there are not)."""
    cut = sorted({i[:MSGID_LENGTH] for i in ids})
    query = (
        "SELECT 0, id, consultation_id, '', '' FROM contribution "
        f"WHERE message_id IN ({marks(conn, len(ids))}) "
        # UNION, not ALL: in a long thread each reply names the same ancestors again.
        "UNION SELECT 0, c.id, c.consultation_id, '', '' FROM thread_ref r "
        "JOIN contribution c ON c.id = r.contribution_id "
        f"WHERE r.message_id IN ({marks(conn, len(cut))})"
    )
    return query, (*ids, *cut)


def subject_keys(shape: Shape) -> dict[str, set[str]]:
    """Subject key -> the topics it has in the rows ('' keys are not merged on)."""
    keys: dict[str, set[str]] = {}
    for key, topic in shape[0]:
        if key:
            keys.setdefault(key, set()).add(topic)
    return keys


def candidates(
    conn: Connection,
    keys: dict[str, set[str]],
    shape: Shape,
    *,
    by_topic: bool,
    window: timedelta | None,
) -> Probe:
    """(c): threads whose root has one of the subject keys (``by_topic``: and one of the
    topics), with dates within the window of the rows' dates."""
    where = [f"subject_key IN ({marks(conn, len(keys))})"]
    params: list[Any] = sorted(keys)
    if by_topic:
        topics = sorted(set().union(*keys.values()))
        where.append(f"topic IN ({marks(conn, len(topics))})")
        params += topics
    if window is not None:
        mark = marks(conn, 1)
        where.append(f"last_date >= {mark} AND first_date <= {mark}")
        params += [as_date(conn, shape[1] - window), as_date(conn, shape[2] + window)]
    query = "SELECT 1, id, consultation_id, subject_key, topic FROM thread WHERE "
    return query + " AND ".join(where), tuple(params)


def both(first: Probe, second: Probe) -> Probe:
    return f"{first[0]} UNION ALL {second[0]}", (*first[1], *second[1])


def answer(conn: Connection, probe: Probe, cid: str) -> tuple[set[int], list[tuple[int, str, str]]]:
    """The consultation's rows of a probe: (a) contribution ids, (c) (thread, key, topic)."""
    shared: set[int] = set()
    threads: list[tuple[int, str, str]] = []
    for part, rid, owner, key, topic in conn.exec_driver_sql(*probe):
        if owner != cid:
            continue
        if part:
            threads.append((rid, key, topic))
        else:
            shared.add(rid)
    return shared, threads


def keep(
    found: Iterable[tuple[int, str, str]], keys: dict[str, set[str]], by_topic: bool
) -> set[int]:
    """The candidate threads whose (key, topic) pair is one of the rows' (keys and topics are
    asked apart)."""
    return {
        tid
        for tid, key, topic in found
        if tid is not None and (not by_topic or topic in keys.get(key, ()))
    }
