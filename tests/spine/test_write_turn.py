"""The listener's group commit goes first: the pipeline commits early when it waits, and
other writers let it take the SQLite write turn before them (mailbot/db.py `write_turn`)."""

from __future__ import annotations

import fcntl
import threading
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, text

from mailbot.app import App
from mailbot.db import write_turn
from mailbot.pipeline import MIN_TURN, process_batch
from mailbot.receive import RawIn, store_raw_batch


def _until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def test_the_turn_holder_sees_the_intake_waiting(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'turn.sqlite3'}")
    stored = threading.Event()

    def intake() -> None:
        with write_turn(engine, intake=True) as turn:
            assert not turn.intake_waiting()  # the intake never gives way to itself
            stored.set()

    with write_turn(engine) as turn:
        assert not turn.intake_waiting()
        listener = threading.Thread(target=intake)
        listener.start()
        assert _until(turn.intake_waiting), "the turn holder never saw the intake waiting"
        assert not stored.is_set()  # it waits for the turn: one writer at a time
    listener.join(10)
    assert stored.is_set()
    with write_turn(engine) as turn:
        assert not turn.intake_waiting()  # the flag is down once the intake is done
    engine.dispose()


def _intake_flag_up(app: App) -> bool:
    database = app.engine.url.database
    if app.engine.url.get_backend_name() != "sqlite" or not database:
        return False
    with open(database + "-intake.lock", "a") as flag:
        try:
            fcntl.flock(flag, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(flag, fcntl.LOCK_UN)
        return False


def test_the_pipeline_commits_as_soon_as_the_listener_waits(app: App) -> None:
    def raw(tag: str, n: int) -> bytes:
        return (
            f"From: P{n} <{tag}{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
            f"Subject: Idea {n}\r\nMessage-ID: <{tag}-{n}@example.org>\r\n\r\n"
            f"The working group should meet in public, idea {n}.\r\n"
        ).encode()

    stored = store_raw_batch(app=app, items=[RawIn(raw=raw("b", n), source="t") for n in range(6)])
    late = threading.Thread(
        target=store_raw_batch, kwargs={"app": app, "items": [RawIn(raw=raw("l", 0), source="t")]}
    )
    seen: list[bool] = []  # per filed message: was the listener's delivery committed by then?

    def watch(*, app: App, session: object, filing: object) -> None:
        with app.engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM raw_message WHERE message_id = 'l-0@example.org'")
            ).scalar_one()
        seen.append(bool(count))
        if len(seen) == 1:  # a delivery arrives while the pipeline holds its transaction
            late.start()
            assert _until(lambda: not late.is_alive() or _intake_flag_up(app))
            time.sleep(2 * MIN_TURN)  # the pipeline's least share of the turn is used up

    road = replace(app.road, filing_steps=(*app.road.filing_steps, ("watch", watch)))
    outcomes = process_batch(app=replace(app, road=road), raw_ids=[r.raw_id for r in stored])
    late.join(10)
    assert [o.outcome for o in outcomes] == ["contribution"] * 6
    # The first message was filed before the delivery; every later one after it committed:
    # the pipeline gave the turn up at once instead of filing the whole batch first.
    assert seen == [False] + [True] * 5
