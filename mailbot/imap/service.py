"""The IMAP poller inside `mailbot run` (a service on the road): one thread per folder.

imapclient is blocking, so each poller runs in a worker thread; every committed batch wakes
the pipeline worker at once. Bad credentials or an unreachable server do not stop the bot:
the poller says so in the log and retries with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from mailbot.app import App
from mailbot.imap.config import ImapConfigError, imap_accounts
from mailbot.imap.poller import Poller
from mailbot.runtime import Runtime, Service

log = logging.getLogger(__name__)


def enabled(app: App) -> bool:
    # No validation here: a broken [imap] section is reported by imap_service, in the log.
    return bool(app.settings.server.imap_url or getattr(app.settings, "imap", None))


async def imap_service(rt: Runtime) -> None:
    try:
        accounts = imap_accounts(rt.app.settings)
    except ImapConfigError as exc:
        log.error("imap: not started: %s", exc)
        return
    loop = asyncio.get_running_loop()

    def wake() -> None:
        loop.call_soon_threadsafe(rt.wake_pipeline.set)

    stop = threading.Event()
    pollers = [Poller(app=rt.app, account=account, on_stored=wake) for account in accounts]
    threads = [asyncio.ensure_future(asyncio.to_thread(p.run, stop)) for p in pollers]
    try:
        await rt.stop.wait()
    finally:
        # Runs on stop and on cancellation alike: let each poller leave IDLE and log out.
        stop.set()
        await asyncio.wait(threads, timeout=15)


IMAP_SERVICE = Service("imap poller", imap_service, enabled, role="imap")
