"""The pipeline in a child process: parsing, filing and answering are CPU work, and in the
listener's process they would hold the GIL while SMTP clients wait for their 250.

The child runs `process_pending` at a lower priority (nice 10), so the OS gives the listener
the CPU first; it works in small steps while the parent says mail is arriving, and dies with
the parent (PR_SET_PDEATHSIG), so a killed bot never leaves a second processor behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import signal
from typing import TYPE_CHECKING, Any

from mailbot.config import Settings

if TYPE_CHECKING:
    from mailbot.run import Runtime

log = logging.getLogger(__name__)

BUSY_CHUNK, BUSY_PAUSE, IDLE_CHUNK = 1, 0.05, 200
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    # Not Linux: no prctl, and the parent's stop event ends us.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody to serve
        os._exit(0)


def child_main(
    parent: int, settings: Settings, level: int, wake: Any, busy: Any, produced: Any, stop: Any
) -> None:
    """Entry point of the child process (spawned: a fresh interpreter)."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    os.nice(10)
    from mailbot.logs import setup_logging

    setup_logging(level=level, verbose=level <= logging.DEBUG)
    from mailbot.app import make_app
    from mailbot.pipeline import load_extensions, process_pending

    load_extensions()
    app = make_app(settings, migrate=False)
    while not stop.is_set():
        if busy.value:
            stop.wait(BUSY_PAUSE)
        try:
            done = process_pending(app=app, limit=BUSY_CHUNK if busy.value else IDLE_CHUNK)
        except Exception:
            log.exception("pipeline process: a batch failed; retrying in 1 s")
            stop.wait(1.0)
            continue
        if done:
            produced.set()  # answers are queued: the parent wakes its sender
            continue
        wake.wait(1.0)
        wake.clear()
    app.engine.dispose()


async def pipeline_process(rt: Runtime) -> None:
    """Run the pipeline child for as long as the bot runs; restart it if it dies."""
    ctx = mp.get_context("spawn")
    wake, produced, stop = ctx.Event(), ctx.Event(), ctx.Event()
    busy = ctx.Value("b", 0, lock=False)

    def start() -> Any:
        process = ctx.Process(
            target=child_main,
            args=(
                os.getpid(),
                rt.app.settings,
                logging.getLogger().level,
                wake,
                busy,
                produced,
                stop,
            ),
            name="mailbot-pipeline",
            daemon=True,
        )
        process.start()
        log.info("pipeline process %d started", process.pid)
        return process

    process = start()
    try:
        while not rt.stop.is_set():
            busy.value = 1 if rt.committer.busy() else 0
            if rt.wake_pipeline.is_set():
                rt.wake_pipeline.clear()
                wake.set()
            if produced.is_set():
                produced.clear()
                rt.wake_sender.set()
            if not process.is_alive():
                log.error("pipeline process exited with %s; starting another", process.exitcode)
                process = start()
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        wake.set()
        await asyncio.to_thread(process.join, 30)
        if process.is_alive():
            process.kill()
        log.info("pipeline process stopped")
