"""Exports for researchers: mbox, CSV and JSON of the published record.

Only public contributions (`privacy.shown`), streamed in arrival order. The mbox holds each
one as published, rebuilt from the record without any address (`privacy.mbox`; "From "
lines quoted the mboxrd way), so it can be imported again with `mailbot ingest --mbox`.
CSV/JSON never carry an e-mail address; the author is the name the participant chose to
show, empty when anonymous.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.campaigns.pages import campaign_column
from mailbot.clock import utc
from mailbot.privacy.mbox import public_message
from mailbot.publish import store

FIELDS = (
    "reference",
    "topic",
    "thread",
    "parent",
    "subject",
    "author",
    "language",
    "received_at",
    "late",
    "sha256",
    "via_list",
    "campaign",  # the reference of the campaign this copy belongs to (issue 16), else empty
    "text",
)
_FROM_LINE = re.compile(rb"^(>*From )", re.M)
_NOT_ADDR = re.compile(rb"[^!-~]")  # the envelope sender on a From_ line has no spaces


def from_line(envelope_from: str | None, received_at: datetime) -> bytes:
    sender = _NOT_ADDR.sub(b"", (envelope_from or "").encode("ascii", "replace"))
    stamp = utc(received_at).strftime("%a %b %d %H:%M:%S %Y").encode("ascii")
    return b"From " + (sender or b"MAILER-DAEMON") + b" " + stamp + b"\n"


def export_mbox(*, app: App, stream: BinaryIO, topic: str | None = None) -> int:
    """Write the public contributions as an mboxrd file (the record as published, never the
    raw headers: `privacy.mbox`); return count."""
    count = 0
    with Session(app.engine) as session:
        for row in store.raw_messages(
            session=session, consultation_id=app.consultation.id, topic=topic
        ):
            data = public_message(row, consultation=app.consultation).replace(b"\r\n", b"\n")
            stream.write(from_line(None, row.received_at))
            stream.write(_FROM_LINE.sub(rb">\1", data))
            stream.write(b"\n" if data.endswith(b"\n") else b"\n\n")
            count += 1
    return count


def records(*, app: App, topic: str | None = None) -> Iterator[dict[str, Any]]:
    """One dict per published contribution (FIELDS), oldest first, texts streamed."""
    with Session(app.engine) as session:
        plan = store.plan(session=session, consultation_id=app.consultation.id)
        campaign_of = campaign_column(session=session, settings=app.settings)
        for row in store.texts(session=session, consultation_id=app.consultation.id, topic=topic):
            e = plan.entries.get(row.ref)
            if e is None:  # changed status between the two reads: leave it out
                continue
            yield {
                "reference": e.ref,
                "topic": e.topic,
                "thread": e.thread,
                "parent": e.parent,
                "subject": e.subject,
                "author": e.author,
                "language": e.language,
                "received_at": utc(e.received_at).isoformat(),
                "late": e.late,
                "sha256": e.sha256,
                "via_list": e.via_list,
                "campaign": campaign_of.get(e.ref),
                "text": row.text,
            }


def export_csv(*, app: App, stream: TextIO, topic: str | None = None) -> int:
    writer = csv.DictWriter(stream, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for record in records(app=app, topic=topic):
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
        count += 1
    return count


def export_json(*, app: App, stream: TextIO, topic: str | None = None) -> int:
    """A JSON document: {"consultation": ..., "contributions": [...]}, written as it streams."""
    c = app.consultation
    head = {"consultation": c.id, "title": c.title, "topic": topic}
    stream.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "contributions": [')
    count = 0
    for record in records(app=app, topic=topic):
        stream.write(("\n" if count == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        count += 1
    stream.write("\n]}\n")
    return count
