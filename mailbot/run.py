"""`mailbot run`: listener, pipeline, sender and the road's services in one asyncio process.

`--role` runs some of them only (scale/): listeners, pipelines and senders as many as wanted
on one PostgreSQL, the scheduler and the IMAP poller led by one process at a time.

The event loop only answers SMTP/LMTP and wakes the others: the pipeline runs in a child
process with the sender beside it (`worker.py`; threads in tests), every blocking call in a
thread, the services
(IMAP pollers, the calendar scheduler) are listed in `app.road.services`. None of them is ever
waited for on the 250 path, and none of them waits for mail to stop arriving.
Everything stops cleanly on SIGTERM/SIGINT: the listener closes first, so no message is
answered 250 after the stop began, then the workers finish their current item.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from contextlib import nullcontext

from mailbot.app import App
from mailbot.groupcommit import GroupCommitter
from mailbot.runtime import ROLES, Runtime
from mailbot.scale.heartbeat import heartbeat
from mailbot.scale.leader import led
from mailbot.scale.single import only_pipeline
from mailbot.sender import recover
from mailbot.smtp import server_factory
from mailbot.worker import pipeline_host, sender_in_child, sender_loop

log = logging.getLogger(__name__)


async def _wait(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when this task is cancelled at shutdown
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    event.clear()


async def sender_worker(rt: Runtime) -> None:
    """The sender in this process (no pipeline child to hold it): `worker.sender_loop` in a
    thread, woken whenever `rt.wake_sender` is set."""
    wake, stop = threading.Event(), threading.Event()
    # Alone (--role sender), nothing here wakes it: it looks at the outbox more often.
    idle = 2.0 if "pipeline" in rt.roles else 0.5
    thread = threading.Thread(
        target=sender_loop,
        kwargs={"app": rt.app, "wake": wake, "stop": stop, "idle": idle},
        name="mailbot-sender",
        daemon=True,
    )
    thread.start()
    try:
        while not rt.stop.is_set():
            await _wait(rt.wake_sender, rt.stop, 60.0)
            wake.set()
    finally:  # also when cancelled at shutdown: the loop ends after the drain in hand
        stop.set()
        wake.set()
        await asyncio.to_thread(thread.join, 30)


async def _forward(source: asyncio.Event, target: asyncio.Event, stop: asyncio.Event) -> None:
    """Each commit of incoming mail wakes the pipeline at once (no polling delay)."""
    while not stop.is_set():
        await _wait(source, stop, 5.0)
        target.set()


def _report(task: asyncio.Task[None]) -> None:
    """A service that dies says so in the log (its task is only awaited at shutdown)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped: %r", task.get_name(), task.exception())


async def _listen(app: App, committer: GroupCommitter, rt: Runtime) -> asyncio.Server:
    host, port = app.settings.server.host_port
    loop = asyncio.get_running_loop()
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
    return server


def _start(rt: Runtime, committer: GroupCommitter) -> list[asyncio.Task[None]]:
    """The tasks of this process's roles (all of them without --role)."""
    roles = rt.roles
    tasks = [asyncio.create_task(heartbeat(rt), name="heartbeat")]
    if "pipeline" in roles:
        tasks.append(asyncio.create_task(pipeline_host(rt), name="pipeline"))
    if "sender" in roles and not sender_in_child(rt):  # else in the pipeline's (worker.py)
        tasks.append(asyncio.create_task(sender_worker(rt), name="sender"))
    if "listener" in roles:
        wake = _forward(committer.stored, rt.wake_pipeline, rt.stop)
        tasks.append(asyncio.create_task(wake, name="wake"))
    for service in rt.app.road.services:
        if service.role in roles and service.enabled(rt.app):
            log.info("starting %s", service.name)
            tasks.append(asyncio.create_task(led(service)(rt), name=service.name))
    for task in tasks:
        task.add_done_callback(_report)
    return tasks


async def serve(
    app: App,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[Runtime], None] | None = None,
    roles: frozenset[str] = frozenset(ROLES),
) -> None:
    """Run `roles` (default: all) until `stop`. SQLite refuses a second pipeline
    (`SecondPipeline`); on PostgreSQL any number of processes share the work."""
    with only_pipeline(app.settings.server.db_url) if "pipeline" in roles else nullcontext():
        await _serve(app, stop=stop, ready=ready, roles=roles)


async def _serve(
    app: App,
    *,
    stop: asyncio.Event | None,
    ready: Callable[[Runtime], None] | None,
    roles: frozenset[str],
) -> None:
    committer = GroupCommitter(app=app)
    rt = Runtime(app, stop or asyncio.Event(), asyncio.Event(), asyncio.Event(), committer)
    rt.roles = roles
    if "sender" in roles:
        recovered = await asyncio.to_thread(recover, app=app)
        if recovered:
            log.warning("%d outgoing message(s) cut off by a crash will be sent again", recovered)
    if "listener" in roles and (recovered := await asyncio.to_thread(committer.recover)):
        log.warning("%d message(s) left in the spool by a stop were stored", recovered)
    server = await _listen(app, committer, rt) if "listener" in roles else None
    tasks = _start(rt, committer)
    if ready:
        ready(rt)
    await rt.stop.wait()
    log.info("stopping: closing the listener, finishing current work")
    if server is not None:
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


def run_forever(app: App, *, roles: frozenset[str] = frozenset(ROLES)) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, stop=stop, roles=roles)

    asyncio.run(main())
