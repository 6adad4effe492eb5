"""Leaders: the scheduler and the IMAP poller run in one process at a time (PostgreSQL).

Every process started with such a role asks for its leader lock (a session-level advisory
lock, scale/locks.py) every `POLL` seconds; the one that gets it runs the service and checks
every `POLL` seconds that the lock's connection still answers. When the leader dies, its
PostgreSQL session ends, the lock is free, and another process takes over within `POLL`
seconds. Exactly-once stays where it was: a digest or reminder is queued once because the
sent record says so, whoever leads (calendar/registry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine

from mailbot.runtime import Runtime, Service
from mailbot.scale.locks import Leadership, on_postgres

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between tries, and between checks of a held lock


async def _pause(rt: Runtime, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(rt.stop.wait(), timeout=seconds)


async def _lead(rt: Runtime, service: Service, lock: Leadership) -> None:
    """Run the service while the lock holds; cancel it when the lock is lost."""
    rt.leading.add(service.role)
    log.info("leading %s: starting %s", service.role, service.name)
    task = asyncio.create_task(service.run(rt), name=service.name)
    try:
        while not task.done() and not rt.stop.is_set():
            await _pause(rt, POLL)
            if not await asyncio.to_thread(lock.alive):
                log.error("%s: leader lock lost; stopping %s", service.role, service.name)
                task.cancel()
                break
        await asyncio.gather(task, return_exceptions=True)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        rt.leading.discard(service.role)
        await asyncio.to_thread(lock.release)


def led(service: Service) -> Callable[[Runtime], Coroutine[None, None, None]]:
    """The service's coroutine, run only while this process leads its role."""

    async def run(rt: Runtime) -> None:
        if not on_postgres(rt.app.engine):  # SQLite: one process, it leads
            rt.leading.add(service.role)
            await service.run(rt)
            return
        lock = Leadership(rt.app.engine, f"{rt.app.consultation.id}/leader/{service.role}")
        while not rt.stop.is_set():
            try:
                got = await asyncio.to_thread(lock.try_acquire)
            except Exception as exc:  # the database is away: ask again later
                log.warning("%s: leader lock not available (%s)", service.role, exc)
                got = False
            if got:
                await _lead(rt, service, lock)
            else:
                await _pause(rt, POLL)

    return run
