"""The preparer: a helper process checks, parses and classifies stored messages beside the
filer (mailbot/preparer.py). What it hands back is what the filer would have made itself;
a message that fails there is quarantined with its own reason; a helper that dies or cannot
start costs nothing but time (the filer prepares the chunk itself)."""

from __future__ import annotations

import dataclasses
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from mailbot import pipeline
from mailbot import preparer as preparer_module
from mailbot.app import App
from mailbot.models import Contribution, RawMessage
from mailbot.parse import ParsedMail
from mailbot.pipeline import process_pending
from mailbot.prepare import prepare
from mailbot.preparer import Ahead, Preparer, preparer_for
from mailbot.receive import RawIn, store_raw_batch
from tests.hostile.hostile_corpus import corpus_inputs
from tests.support import RANDOM_NAME, contribution_mail, corpus_dir


def mail(n: int, *, extra: str = "") -> bytes:
    return contribution_mail(n, tag="prep", extra=extra)


def too_many_headers(n: int) -> bytes:
    pad = "".join(f"X-Pad-{i}: {i}\r\n" for i in range(5000))
    return mail(n, extra=pad)


def steady(parsed: ParsedMail) -> ParsedMail:
    """mail-parser names an unnamed part at random (`abcdefghij.txt`): not a difference."""
    named = tuple(
        dataclasses.replace(a, filename="") if RANDOM_NAME.match(a.filename or "") else a
        for a in parsed.attachments
    )
    return dataclasses.replace(parsed, attachments=named)


def helper_for(app: App) -> Preparer:
    found = preparer_for(app.settings, app.road)
    assert found is not None  # "auto" on this 2-CPU machine, or "process"
    return found


def running(helper: Preparer) -> int:
    """Start the helper, wait until it answers; its process id."""
    helper.start()
    assert helper.pool is not None
    helper.submit([]).result(timeout=120)  # type: ignore[union-attr]  # it imported everything
    (pid,) = list(helper.pool._processes)  # the one worker
    return pid


def test_the_helper_prepares_what_the_filer_would_on_real_mail(app: App) -> None:
    """Every corpus message: the same parsed mail and verdict from the helper as here, or the
    same failure (handed back by id)."""
    _, _, by_path = corpus_inputs(corpus_dir())
    now = datetime.now(UTC)
    rows = [
        RawMessage(
            id=n,
            raw=raw,
            envelope_from="sender@example.org",
            envelope_to=["contrib@consult.example.org"],
            source="smtp",
            received_at=now,
            size=len(raw),
            content_sha256="",
        )
        for n, raw in enumerate(by_path.values(), start=1)
    ]
    assert len(rows) > 900
    helper = helper_for(app)
    try:
        futures = [helper.submit(rows[i : i + 50]) for i in range(0, len(rows), 50)]
        done: dict[int, Any] = {}
        for future in futures:
            assert future is not None
            for result in future.result(timeout=300):
                done[result if isinstance(result, int) else result[0]] = result
    finally:
        helper.close()
    assert set(done) == {r.id for r in rows}
    differ, failed = [], 0
    for row in rows:
        try:
            here = prepare(app=app, raw=row)
        except Exception:
            failed += 1
            if done[row.id] != row.id:
                differ.append(f"{row.id}: fails here only")
            continue
        there = done[row.id]
        if there == row.id:
            differ.append(f"{row.id}: fails in the helper only")
        elif (steady(there[1]), there[2]) != (steady(here.mail), here.verdict):
            differ.append(f"{row.id}: {here.verdict} here, {there[2]} there")
    assert not differ, differ[:5]
    print(f"{len(rows)} corpus messages, {failed} failing their checks in both")


def test_a_message_failing_in_the_helper_is_quarantined_with_its_own_reason(app: App) -> None:
    items = [RawIn(raw=mail(1), source="t"), RawIn(raw=too_many_headers(2), source="t")]
    items += [RawIn(raw=mail(n), source="t") for n in range(3, 12)]
    store_raw_batch(app=app, items=items)
    helper = helper_for(app)
    try:
        outcomes = process_pending(app=app, preparer=helper)
        assert helper.pool is not None  # the helper did the preparing
    finally:
        helper.close()
    kinds = sorted(o.outcome for o in outcomes)
    assert kinds == ["contribution"] * 10 + ["quarantine"]
    with Session(app.engine) as session:
        bad = session.exec(select(RawMessage).where(RawMessage.state == "quarantined")).one()
        assert bad.message_id == "prep-2@example.org"
        with pytest.raises(Exception) as here:  # what the filer itself says of it
            prepare(app=app, raw=bad)
        assert bad.reason is not None
        assert bad.reason.split("\n")[0] == f"{type(here.value).__name__}: {here.value}"
        assert "LimitExceeded" in bad.reason
        filed = session.exec(select(Contribution)).all()
        assert len(filed) == 10 and len({c.ref for c in filed}) == 10


def test_a_helper_killed_mid_batch_loses_nothing(app: App, monkeypatch: Any) -> None:
    """The helper dies while it has chunks in hand: they are prepared by the filer, every
    message is filed once, and the next batch gets a new helper."""
    store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(40)])
    helper = helper_for(app)
    killed: list[int] = []

    def submit_then_kill(rows: Any) -> Any:
        future = original_submit(rows)
        if not killed and helper.pool is not None:
            future.result(timeout=120)  # the helper is up (it imported everything)
            (pid,) = list(helper.pool._processes)  # the one worker
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return future

    original_submit = helper.submit
    monkeypatch.setattr(helper, "submit", submit_then_kill)
    try:
        outcomes = process_pending(app=app, preparer=helper)
        assert killed, "the helper was never started"
        assert [o.outcome for o in outcomes].count("contribution") == 40
        # A later batch starts a new helper, which prepares it.
        store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(40, 45)])
        monkeypatch.setattr(helper, "submit", original_submit)
        again = process_pending(app=app, preparer=helper)
        assert [o.outcome for o in again] == ["contribution"] * 5
        assert helper.pool is not None and killed[0] not in helper.pool._processes
    finally:
        helper.close()
    with Session(app.engine) as session:
        refs = [c.ref for c in session.exec(select(Contribution)).all()]
    assert len(refs) == 45 and len(set(refs)) == 45


def test_a_write_turn_takes_what_the_helper_finished_meanwhile(app: App, monkeypatch: Any) -> None:
    """One commit files every message the helper has ready by the time the turn reaches it,
    not one commit per chunk it hands over; nothing is prepared here inside a turn."""
    monkeypatch.setattr(pipeline, "TURN", 600.0)  # only the work decides, not this machine
    results = store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(40)])
    rows, _ = pipeline._read_batch(app, [r.raw_id for r in results])
    helper = helper_for(app)
    commits: list[object] = []
    count = commits.append  # one object: listen and remove need the same
    try:
        todo = Ahead(app, rows[:2], helper).more(0)  # what the turn starts with
        later = Ahead(app, rows[2:], helper)  # what the helper finishes while it runs
        for _, future in later.chunks:
            assert future is not None
            future.result(timeout=120)
        event.listen(app.engine, "commit", count)
        try:
            outcomes = pipeline._file_some(app, todo, later.finished)
        finally:
            event.remove(app.engine, "commit", count)
    finally:
        helper.close()
    assert [o.outcome for o in outcomes] == ["contribution"] * 40
    assert len(todo) == 40 and len(commits) == 1
    assert Ahead(app, rows[:3], None).finished() == []  # no helper: nothing joins a turn


def test_a_chunk_the_helper_failed_is_prepared_between_turns(app: App) -> None:
    """`finished` (inside a write turn) leaves a failed chunk alone; `more` prepares it here."""
    results = store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(4)])
    rows, _ = pipeline._read_batch(app, [r.raw_id for r in results])
    helper = helper_for(app)
    try:
        pid = running(helper)
        os.kill(pid, signal.SIGSTOP)  # the chunks wait in its queue
        ahead = Ahead(app, rows, helper)
        os.kill(pid, signal.SIGKILL)  # and fail with it
        for _, future in ahead.chunks:
            assert future is not None
            with pytest.raises(BrokenProcessPool):
                future.result(timeout=60)
        assert ahead.finished() == []
        assert [p.raw_id for p in ahead.more(0)] == [r.id for r in rows]
    finally:
        helper.close()


def test_the_helper_gets_the_next_batch_before_this_one_is_filed(
    app: App, monkeypatch: Any
) -> None:
    """The filer does not wait at each batch for its first messages to be prepared: when
    the helper is handed the second batch, none of the first has been filed yet."""
    count = pipeline.BATCH + 10
    store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(count)])
    helper = helper_for(app)
    handed: list[tuple[int, int]] = []  # (first row id of a chunk, contributions filed then)

    def submit(rows: Any) -> Any:
        with Session(app.engine) as session:
            filed = len(session.exec(select(Contribution.id)).all())
        handed.append((rows[0].id, filed))
        return original(rows)

    original = helper.submit
    monkeypatch.setattr(helper, "submit", submit)
    try:
        outcomes = process_pending(app=app, preparer=helper)
    finally:
        helper.close()
    assert [o.outcome for o in outcomes] == ["contribution"] * count
    second = [filed for first_id, filed in handed if first_id > pipeline.BATCH]
    assert second and second[0] == 0


def test_a_stuck_helper_is_killed_and_its_work_done_here(app: App, caplog: Any) -> None:
    """The helper stops answering (SIGSTOP: stopped, as a deadlock would leave it): after
    `stuck_after` seconds it is killed, its chunks are prepared by the filer, every message
    is filed once, and the next batch gets a new helper."""
    store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(30)])
    helper = helper_for(app)
    helper.stuck_after = 2.0
    try:
        stopped = running(helper)
        os.kill(stopped, signal.SIGSTOP)
        outcomes = process_pending(app=app, preparer=helper)
        assert [o.outcome for o in outcomes] == ["contribution"] * 30
        assert "preparer stuck for 2 s: killed" in caplog.text
        store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(30, 33)])
        again = process_pending(app=app, preparer=helper)
        assert [o.outcome for o in again] == ["contribution"] * 3
        assert helper.pool is not None and stopped not in helper.pool._processes
    finally:
        helper.close()
    with pytest.raises(ProcessLookupError):  # killed, and reaped by its pool
        os.kill(stopped, 0)
    with Session(app.engine) as session:
        refs = [c.ref for c in session.exec(select(Contribution)).all()]
    assert len(refs) == 33 and len(set(refs)) == 33


def test_a_helper_that_cannot_start_leaves_the_work_here(app: App, monkeypatch: Any) -> None:
    """No process can be started (a fault we cannot cause for real): the filer prepares
    everything itself and does not try again for a while."""
    starts: list[int] = []

    def refuse(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        starts.append(1)
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(preparer_module, "ProcessPoolExecutor", refuse)
    store_raw_batch(app=app, items=[RawIn(raw=mail(n), source="t") for n in range(20)])
    helper = helper_for(app)
    outcomes = process_pending(app=app, preparer=helper)
    assert [o.outcome for o in outcomes] == ["contribution"] * 20
    assert len(starts) == 1  # one try, then it rests (preparer.REST)
    assert helper.resting_until > 0


@pytest.mark.parametrize("setting, expected", [("inline", False), ("process", True)])
def test_the_setting_says_where_messages_are_prepared(
    app: App, setting: str, expected: bool
) -> None:
    server = app.settings.server.model_copy(update={"prepare": setting})
    settings = app.settings.model_copy(update={"server": server})
    found = preparer_for(settings, app.road)
    assert (found is not None) is expected
    assert found is None or found.pool is None  # nothing starts before the first chunk
