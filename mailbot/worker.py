"""The background loops (the pipeline, the sender) and where they run: a child process in
production, threads in tests.

`pipeline_loop` is the one pipeline loop: claim what is stored, walk it down the road, say
that answers are queued, sleep until woken. It never waits for a quiet moment: the
listener's 250s do not depend on it, so receipts flow while mail keeps arriving.
`sender_loop` drains the outbox whenever the pipeline (or the scheduler) says there is mail.

In production both run in one child process (the sender in a thread beside the pipeline):
parsing, filing, answering and writing the outgoing mail are CPU work, and in the listener's
process they would hold the GIL while SMTP clients wait for their 250. One child, not two:
each costs an interpreter and its imports at start-up. The child runs at a lower priority
(nice 10), so the OS gives the listener the CPU first, and dies with the parent
(PR_SET_PDEATHSIG). When the app's clock is a test's frozen clock (time cannot cross a
process boundary) or `[server] pipeline = "thread"`, the same loops run in threads of the
bot's process instead.

Durability on SQLite: the 250 waits for a commit that reached the disk (synchronous=FULL).
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
import contextlib
import ctypes
import dataclasses
import logging
import multiprocessing as mp
import os
import signal
import threading
from typing import TYPE_CHECKING, Any, Protocol

from mailbot import language
from mailbot.app import App
from mailbot.clock import SystemClock
from mailbot.config import Settings
from mailbot.db import make_engine
from mailbot.logs import setup_logging
from mailbot.pipeline import process_pending
from mailbot.sender import drain

if TYPE_CHECKING:
    from mailbot.road import Road
    from mailbot.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 200  # stored messages taken per round
PR_SET_PDEATHSIG = 1


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


def pipeline_loop(*, app: App, wake: Flag, produced: Signal, stop: Flag, idle: float = 1.0) -> None:
    """Process what is stored until `stop`; `produced` says answers were queued; with
    nothing to do, look again after `idle` s (a listener in this process wakes it sooner)."""
    while not stop.is_set():
        wake.clear()  # before looking: a message stored during the round wakes the next one
        try:
            done = process_pending(app=app, limit=BATCH)
        except Exception:
            log.exception("pipeline: a round failed; retrying in 1 s")
            stop.wait(1.0)
            continue
        if done:
            produced.set()  # the sender, and the host
            continue
        wake.wait(idle)


def sender_loop(*, app: App, wake: Flag, stop: Flag, idle: float = 2.0) -> None:
    """Send what is due until `stop`; woken when answers are queued, else every `idle` s."""
    while not stop.is_set():
        wake.clear()
        try:
            counts = drain(app=app)
        except Exception:
            log.exception("sender failed; retrying in 5 s")
            stop.wait(5.0)
            continue
        if not counts.get("sent"):
            wake.wait(idle)


def _die_with_parent(parent: int) -> None:
    # Not Linux: no prctl, and the parent's stop event ends us.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody to serve
        os._exit(0)


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
    """Entry point of the child process (spawned: a fresh interpreter). With `send` (the
    sender's wake-up), the sender runs here too, in a thread, with durable commits."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    os.nice(10)
    setup_logging(level=level, verbose=level <= logging.DEBUG)
    url = settings.server.db_url
    app = App(settings=settings, engine=make_engine(url, durable=False), road=road)
    # The language model loads while the loop waits for mail, not in the first message's time.
    threading.Thread(target=language.warm, name="mailbot-warm", daemon=True).start()
    sender = None
    if send is not None:
        outgoing = App(settings=settings, engine=make_engine(url), road=road)
        sender = threading.Thread(
            target=sender_loop,
            kwargs={"app": outgoing, "wake": send, "stop": stop},
            name="mailbot-sender",
        )
        sender.start()
        produced = Fanout((produced, send))
    pipeline_loop(app=app, wake=wake, produced=produced, stop=stop, idle=idle)
    if sender is not None:
        sender.join()
        outgoing.engine.dispose()
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
    """The sender runs in the pipeline's child process when there is one (a listener here,
    a real clock): its work then stays out of the process whose GIL answers SMTP."""
    wanted = {"listener", "pipeline", "sender"}
    return wanted <= rt.roles and not in_thread(rt.app)


async def pipeline_host(rt: Runtime) -> None:
    """Run the pipeline loop for as long as the bot runs; restart it if it dies."""
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

    def start() -> Any:
        if threaded:
            return ThreadHost(rt.app, wake, produced, stop, idle)
        process = ctx.Process(
            target=child_main,
            args=(os.getpid(), rt.app.settings, road, logging.getLogger().level),
            kwargs={"wake": wake, "produced": produced, "stop": stop, "idle": idle, "send": send},
            name="mailbot-pipeline",
            daemon=True,
        )
        process.start()
        log.info("pipeline process %d started%s", process.pid, " (and the sender)" if send else "")
        return process

    host = start()
    try:
        while not rt.stop.is_set():
            if rt.wake_pipeline.is_set():
                rt.wake_pipeline.clear()
                wake.set()
            if rt.wake_sender.is_set() and send is not None:  # the scheduler queued mail
                rt.wake_sender.clear()
                send.set()
            if produced.is_set():
                produced.clear()
                rt.wake_sender.set()
            if not host.is_alive():
                log.error("pipeline exited with %s; starting another", host.exitcode)
                host = start()
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        wake.set()
        await asyncio.to_thread(host.join, 30)
        if host.is_alive():
            host.kill()
        log.info("pipeline stopped")
