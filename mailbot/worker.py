"""The background loops (the pipeline, the sender) and where they run: a child process in
production, threads in tests.

`pipeline_loop` is the one pipeline loop: claim what is stored, walk it down the road, say
that answers are queued, sleep until woken. It never waits for a quiet moment: the
listener's 250s do not depend on it, so receipts flow while mail keeps arriving.
`sender_loop` drains the outbox whenever the pipeline (or the scheduler) says there is mail.

In production each runs in a child process of its own, and the pipeline's has a helper
(preparer.py) that prepares the next messages while it files: parsing, filing, answering and
writing the outgoing mail are CPU work, and in the listener's process they would hold the
GIL while SMTP clients wait for their 250; in one process they would share one core while a
rush keeps the other busy. Each child costs an interpreter and its imports at start-up. The
children run at a lower priority (nice 10), so the OS gives the listener the CPU first, and
die with their parent (child.py). When the app's clock is a test's frozen clock (time cannot
cross a process boundary) or `[server] pipeline = "thread"`, the same loops run in threads
of the bot's process instead.

Durability on SQLite: the 250 waits for the disk (the spool, spool.py; the storer commits
with synchronous=FULL).
The pipeline's own commits do not wait for the disk (`make_engine(durable=False)`): what
they write is made durable by the next durable commit on the same file (the WAL is one file,
written in order, and fsync writes all of it) - at the latest the sender's, which claims an
outgoing message durably BEFORE handing it over. So a power cut can only undo filings that
nobody was told of yet, and their stored messages, still `new`, are filed again; a receipt
never goes out for a filing that could be lost. That spares one disk flush per pipeline
commit, the time the listener's group commit waited for.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing as mp
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from mailbot import language
from mailbot.app import App
from mailbot.child import become_child
from mailbot.clock import SystemClock
from mailbot.config import Settings
from mailbot.db import make_engine
from mailbot.pipeline import process_pending
from mailbot.preparer import Preparer, preparer_for
from mailbot.sender import drain

if TYPE_CHECKING:
    from mailbot.road import Road
    from mailbot.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 200  # stored messages taken per round
DRAIN = 200  # outgoing messages sent per round
SENDER_NICE = 15
GATHER = 0.05  # seconds the sender lets answers gather after a round that was not full


class Flag(Protocol):
    """threading.Event and multiprocessing's Event both fit."""

    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Signal(Protocol):
    def set(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Fanout:
    """One `set` for several flags: the pipeline's answers wake the host and the sender."""

    flags: tuple[Signal, ...]

    def set(self) -> None:
        for flag in self.flags:
            flag.set()


def pipeline_loop(
    *,
    app: App,
    wake: Flag,
    produced: Signal,
    stop: Flag,
    idle: float = 1.0,
    preparer: Preparer | None = None,
) -> None:
    """Process what is stored until `stop`; `produced` says answers were queued; with
    nothing to do, look again after `idle` s (a listener in this process wakes it sooner).
    `preparer`: the helper process that prepares the next messages (preparer.py)."""
    while not stop.is_set():
        wake.clear()  # before looking: a message stored during the round wakes the next one
        try:
            done = process_pending(app=app, limit=BATCH, preparer=preparer)
        except Exception:
            log.exception("pipeline: a round failed; retrying in 1 s")
            stop.wait(1.0)
            continue
        if done:
            produced.set()  # the sender, and the host
            continue
        wake.wait(idle)


def sender_loop(*, app: App, wake: Flag, stop: Flag, idle: float = 2.0) -> None:
    """Send what is due until `stop`; woken when answers are queued, else every `idle` s.
    After a round that sent less than a full drain, it lets the next answers gather for
    GATHER s: under a rush the pipeline queues a few with every commit, and one round per
    commit cost a claim, a disk sync and a `sent` commit for every few messages."""
    while not stop.is_set():
        wake.clear()
        try:
            counts = drain(app=app, limit=DRAIN)
        except Exception:
            log.exception("sender failed; retrying in 5 s")
            stop.wait(5.0)
            continue
        handled = sum(counts.values())
        if not handled:
            wake.wait(idle)
        elif handled < DRAIN:
            stop.wait(GATHER)


def child_main(
    parent: int,
    settings: Settings,
    road: Road,
    level: int,
    wake: Any,
    produced: Any,
    stop: Any,
    idle: float = 1.0,
    send: Any = None,
) -> None:
    """Entry point of the pipeline's process (spawned: a fresh interpreter). With `send`
    (the sender process's wake-up), every round that queued answers wakes the sender too."""
    become_child(parent, level)
    app = App(
        settings=settings, engine=make_engine(settings.server.db_url, durable=False), road=road
    )
    # The language model loads while the loop waits for mail, not in the first message's time.
    threading.Thread(target=language.warm, name="mailbot-warm", daemon=True).start()
    if send is not None:
        produced = Fanout((produced, send))
    preparer = preparer_for(settings, road)
    if preparer is not None:
        preparer.start()  # while the loop waits for mail, as the language model loads
    pipeline_loop(app=app, wake=wake, produced=produced, stop=stop, idle=idle, preparer=preparer)
    if preparer is not None:
        preparer.close()
    app.engine.dispose()


def sender_main(
    parent: int, settings: Settings, road: Road, level: int, wake: Any, stop: Any
) -> None:
    """Entry point of the sender's process: its commits are durable (see above), and its
    work (reading the outbox, writing the maildir or talking to the relay) runs on the other
    core while the pipeline files."""
    become_child(parent, level, nice=SENDER_NICE)
    app = App(settings=settings, engine=make_engine(settings.server.db_url), road=road)
    sender_loop(app=app, wake=wake, stop=stop)
    app.engine.dispose()


class ThreadHost:
    """The loop in a thread of this process (a frozen clock, or `pipeline = "thread"`)."""

    def __init__(self, app: App, wake: Flag, produced: Flag, stop: Flag, idle: float) -> None:
        self.thread = threading.Thread(
            target=pipeline_loop,
            kwargs={"app": app, "wake": wake, "produced": produced, "stop": stop, "idle": idle},
            name="mailbot-pipeline",
            daemon=True,
        )
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def kill(self) -> None:  # a thread cannot be killed; it is a daemon
        pass

    @property
    def exitcode(self) -> int | None:
        return None


def in_thread(app: App) -> bool:
    return app.settings.server.pipeline == "thread" or not isinstance(app.clock, SystemClock)


def sender_in_child(rt: Runtime) -> bool:
    """The sender runs in a child process of its own when the pipeline has one (a listener
    here, a real clock): its work then stays out of the process whose GIL answers SMTP, and
    out of the one that files."""
    wanted = {"listener", "pipeline", "sender"}
    return wanted <= rt.roles and not in_thread(rt.app)


def _relay(rt: Runtime, wake: Flag, produced: Flag, send: Flag | None) -> None:
    """The wake-ups between this process's events and the children's."""
    if rt.wake_pipeline.is_set():
        rt.wake_pipeline.clear()
        wake.set()
    if rt.wake_sender.is_set() and send is not None:  # the scheduler queued mail
        rt.wake_sender.clear()
        send.set()
    if produced.is_set():
        produced.clear()
        rt.wake_sender.set()


async def pipeline_host(rt: Runtime) -> None:
    """Run the pipeline loop (and the sender's process) for as long as the bot runs;
    restart either if it dies."""
    # Without a listener in this process (--role pipeline) there are no 250s to protect from
    # the GIL: the loop runs in a thread, and a restart costs one interpreter, not two.
    threaded = in_thread(rt.app) or "listener" not in rt.roles
    ctx = mp.get_context("spawn")
    wake, produced, stop = (
        (threading.Event(), threading.Event(), threading.Event())
        if threaded
        else (ctx.Event(), ctx.Event(), ctx.Event())
    )
    send = ctx.Event() if sender_in_child(rt) else None
    # The child gets the road without the CLI groups (Typer apps do not pickle, nor are needed).
    road = dataclasses.replace(rt.app.road, cli_groups=())
    # No listener in this process (--role pipeline): mail stored elsewhere is found by looking.
    idle = 1.0 if "listener" in rt.roles else 0.25
    parent = (os.getpid(), rt.app.settings, road, logging.getLogger().level)

    def spawn(name: str, target: Any, kwargs: dict[str, Any]) -> Any:
        # Not a daemon: a daemon may not start processes, and the pipeline's starts the
        # preparer. It dies with us all the same (child.py), and is joined at the stop.
        process = ctx.Process(target=target, args=parent, kwargs=kwargs, name=f"mailbot-{name}")
        process.start()
        log.info("%s process %d started", name, process.pid)
        return process

    def start(name: str) -> Any:
        if name == "sender":
            return spawn("sender", sender_main, {"wake": send, "stop": stop})
        if threaded:
            return ThreadHost(rt.app, wake, produced, stop, idle)
        flags = {"wake": wake, "produced": produced, "stop": stop, "idle": idle, "send": send}
        return spawn("pipeline", child_main, flags)

    hosts = {"pipeline": start("pipeline")}
    if send is not None:
        hosts["sender"] = start("sender")
    try:
        while not rt.stop.is_set():
            _relay(rt, wake, produced, send)
            for name, host in hosts.items():
                if not host.is_alive():
                    log.error("%s exited with %s; starting another", name, host.exitcode)
                    hosts[name] = start(name)
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        wake.set()
        if send is not None:
            send.set()
        for host in hosts.values():
            await asyncio.to_thread(host.join, 30)
            if host.is_alive():
                host.kill()
        log.info("pipeline stopped")
