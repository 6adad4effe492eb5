"""Prepare: every step of the road before filing (size limits, parse, post-parse, classify,
and a contribution's reading: reading.py).

It reads only the stored message and the settings, never the database, so it runs outside
any write transaction, and in `mailbot run` in a helper process of its own (preparer.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailbot.app import App
from mailbot.classify import Verdict, classify
from mailbot.models import RawMessage
from mailbot.parse import ParsedMail, parse
from mailbot.reading import read

AHEAD = 8  # messages prepared (checked, parsed, classified) at a time


@dataclass(frozen=True)
class Prepared:
    """A stored message read, checked, parsed once and classified: ready to be filed. `raw`
    is the row as read before the transaction (detached): handlers read its bytes from it."""

    raw_id: int
    mail: ParsedMail
    verdict: Verdict
    raw: RawMessage | None = None


def prepare(*, app: App, raw: RawMessage) -> Prepared:
    """Every step before filing; raises for a message that fails its checks or parse."""
    assert raw.id is not None
    for check in app.road.pre_parse:
        check(app, raw)
    mail = parse(
        raw.raw,
        envelope_from=raw.envelope_from,
        envelope_to=tuple(raw.envelope_to or ()),
        source=raw.source,
    )
    for step in app.road.post_parse:
        mail = step(mail, app.settings)
    verdict = classify(mail, app.settings, rules=app.road.rules)
    if verdict.kind == "contribution":  # its text read here, not in the write turn
        mail = replace(mail, reading=read(mail, app.settings))
    return Prepared(raw.id, mail, verdict, raw)


def prepare_some(app: App, rows: Sequence[RawMessage], alone: list[int]) -> list[Prepared]:
    """Prepared messages; the ids of those that fail a check go to `alone`."""
    ready: list[Prepared] = []
    for raw in rows:
        try:
            ready.append(prepare(app=app, raw=raw))
        except Exception:
            alone.append(raw.id or 0)  # process_one quarantines it with its own error
    return ready
