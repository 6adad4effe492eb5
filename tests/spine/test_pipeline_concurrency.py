"""Two processors on the same stored message (say `mailbot ingest` beside `mailbot run`):
one contribution, one acknowledgement, and the message is not quarantined."""

from __future__ import annotations

import threading

from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.models import Contribution, OutboxMessage, RawMessage
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch


def test_racing_processors_file_a_message_once(app: App) -> None:
    raws = [
        (
            f"From: P{n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
            f"Subject: Idea {n}\r\nMessage-ID: <race-{n}@example.org>\r\n\r\n"
            f"The working group should meet in public, idea {n}.\r\n"
        ).encode()
        for n in range(20)
    ]
    ids = [
        r.raw_id for r in store_raw_batch(app=app, items=[RawIn(raw=r, source="t") for r in raws])
    ]
    outcomes: list[Outcome] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        for raw_id in ids:
            outcomes.append(process_one(app=app, raw_id=raw_id))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 40
    with Session(app.engine) as s:
        assert len(s.exec(select(Contribution)).all()) == 20
        assert len(s.exec(select(OutboxMessage)).all()) == 20
        states = {r.state for r in s.exec(select(RawMessage))}
    assert states == {"done"}
