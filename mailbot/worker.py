"""The pipeline loop, and where it runs: a child process (production) or a thread (tests).

`pipeline_loop` is the one loop: claim what is stored, walk it down the road, say that
answers are queued, sleep until woken. It never waits for a quiet moment: the listener's 250s
do not depend on it, so receipts flow while mail keeps arriving.

In production the loop runs in a child process: parsing, filing and answering are CPU work,
and in the listener's process they would hold the GIL while SMTP clients wait for their 250.
The child runs at a lower priority (nice 10), so the OS gives the listener the CPU first, and
dies with the parent (PR_SET_PDEATHSIG). When the app's clock is a test's frozen clock (time
cannot cross a process boundary) or `[server] pipeline = "thread"`, the same loop runs in a
thread of the bot's process instead.
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


def pipeline_loop(*, app: App, wake: Flag, produced: Flag, stop: Flag, idle: float = 1.0) -> None:
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
            produced.set()  # the host wakes the sender
            continue
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
) -> None:
    """Entry point of the child process (spawned: a fresh interpreter)."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    os.nice(10)
    setup_logging(level=level, verbose=level <= logging.DEBUG)
    app = App(settings=settings, engine=make_engine(settings.server.db_url), road=road)
    # The language model loads while the loop waits for mail, not in the first message's time.
    threading.Thread(target=language.warm, name="mailbot-warm", daemon=True).start()
    pipeline_loop(app=app, wake=wake, produced=produced, stop=stop, idle=idle)
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
            kwargs={"wake": wake, "produced": produced, "stop": stop, "idle": idle},
            name="mailbot-pipeline",
            daemon=True,
        )
        process.start()
        log.info("pipeline process %d started", process.pid)
        return process

    host = start()
    try:
        while not rt.stop.is_set():
            if rt.wake_pipeline.is_set():
                rt.wake_pipeline.clear()
                wake.set()
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
