"""`mailbot run`: listener, pipeline worker, sender and scheduler in one asyncio process.

Services are small coroutines; `SERVICES` lets other areas (IMAP poller, scheduler jobs) add
theirs. Everything stops cleanly on SIGTERM/SIGINT: the listener closes first, so no message
is answered 250 after the stop began, then the workers finish their current item.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from mailbot.app import App
from mailbot.clock import SystemClock
from mailbot.pipeline import load_extensions, process_pending
from mailbot.receive import GroupCommitter
from mailbot.sender import drain, recover
from mailbot.smtp import server_factory
from mailbot.worker import BUSY_CHUNK, BUSY_PAUSE, IDLE_CHUNK, pipeline_process

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    app: App
    stop: asyncio.Event
    wake_pipeline: asyncio.Event
    wake_sender: asyncio.Event
    committer: GroupCommitter
    ports: dict[str, int] = field(default_factory=dict)


Service = Callable[[Runtime], Coroutine[None, None, None]]
# Extra services: (name, coroutine factory, enabled?) — the IMAP poller registers here.
SERVICES: list[tuple[str, Service, Callable[[App], bool]]] = []


async def _wait(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this task is cancelled at shutdown
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    event.clear()


async def pipeline_worker(rt: Runtime) -> None:
    """The pipeline in a thread (tests with a frozen clock, `pipeline = "thread"`). While mail
    is arriving it works in small steps: the 250s come first, the backlog drains after."""
    while not rt.stop.is_set():
        busy = rt.committer.busy()
        if busy:
            await asyncio.sleep(BUSY_PAUSE)
        try:
            done = await asyncio.to_thread(
                process_pending, app=rt.app, limit=BUSY_CHUNK if busy else IDLE_CHUNK
            )
        except Exception:
            log.exception("pipeline worker failed; retrying in 1 s")
            done = []
            await asyncio.sleep(1)
        if done:
            rt.wake_sender.set()
            continue  # more may be waiting
        await _wait(rt.wake_pipeline, rt.stop, 1.0)


async def sender_worker(rt: Runtime) -> None:
    while not rt.stop.is_set():
        if rt.committer.busy():  # answers can wait a moment; 250s to senders cannot
            await asyncio.sleep(BUSY_PAUSE)
            continue
        try:
            counts = await asyncio.to_thread(drain, app=rt.app)
        except Exception:
            log.exception("sender failed; retrying in 5 s")
            counts = {}
            await asyncio.sleep(5)
        if counts.get("sent"):
            continue
        await _wait(rt.wake_sender, rt.stop, 2.0)


async def _forward(source: asyncio.Event, target: asyncio.Event, stop: asyncio.Event) -> None:
    """Each commit of incoming mail wakes the pipeline at once (no polling delay)."""
    while not stop.is_set():
        await _wait(source, stop, 5.0)
        target.set()


async def serve(
    app: App, *, stop: asyncio.Event | None = None, ready: Callable[[Runtime], None] | None = None
) -> None:
    load_extensions()
    loop = asyncio.get_running_loop()
    committer = GroupCommitter(app=app)
    rt = Runtime(app, stop or asyncio.Event(), asyncio.Event(), asyncio.Event(), committer)
    recovered = await asyncio.to_thread(recover, app=app)
    if recovered:
        log.warning("%d outgoing message(s) interrupted by a crash will be sent again", recovered)
    host, port = app.settings.server.host_port
    server = await loop.create_server(
        server_factory(settings=app.settings, committer=committer), host, port
    )
    rt.ports["smtp"] = server.sockets[0].getsockname()[1]
    log.info(
        "listening for %s on %s:%d; outgoing mail %s",
        app.settings.server.protocol.upper(),
        host,
        rt.ports["smtp"],
        f"via {app.settings.server.relay.split('@')[-1]}"
        if app.settings.server.relay
        else f"to maildir {app.settings.server.outbox_maildir}",
    )
    # The pipeline runs in a child process, unless the app's clock is a test's frozen clock
    # (time cannot cross a process boundary) or the config asks for a thread.
    in_process = app.settings.server.pipeline == "thread" or not isinstance(app.clock, SystemClock)
    pipeline = pipeline_worker if in_process else pipeline_process
    tasks = [
        asyncio.create_task(pipeline(rt), name="pipeline"),
        asyncio.create_task(sender_worker(rt), name="sender"),
        asyncio.create_task(_forward(committer.stored, rt.wake_pipeline, rt.stop), name="wake"),
    ]
    for name, service, enabled in SERVICES:
        if enabled(app):
            log.info("starting %s", name)
            tasks.append(asyncio.create_task(service(rt), name=name))
    if ready:
        ready(rt)
    await rt.stop.wait()
    log.info("stopping: closing the listener, finishing current work")
    server.close()
    await server.wait_closed()
    # Workers leave their loops on `stop` after the item in hand; wait for them, then cancel
    # whatever only waits (the wake-up forwarder, idle services).
    _, pending = await asyncio.wait(tasks, timeout=30)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await committer.close()
    log.info("stopped")


def run_forever(app: App) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, stop=stop)

    asyncio.run(main())


import mailbot.imap.service  # noqa: E402, F401  (registers the IMAP poller in SERVICES)
