"""The follow-up of erasures (the `erasure-follow-up` calendar job, hourly while one waits;
`mailbot privacy purge` on demand): mail sent to the address after the
erasure (the results of the confirmation itself) and the copies the IMAP poller left in
each account's `Processed` folder. An erasure is complete when both are gone; its row then
keeps no hash of the address and no Message-ID."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.imap.config import imap_accounts
from mailbot.imap.mailbox import connect, logout
from mailbot.privacy.erase import scrub_tables
from mailbot.privacy.models import Erasure

log = logging.getLogger(__name__)


FOLLOW_EVERY = timedelta(hours=1)


def follow_times(*, app: App, session: Session) -> list[datetime]:
    """While an erasure waits: every hour of the next day (the calendar re-reads this every
    ten minutes, so a new erasure is armed within ten minutes and done within the hour)."""
    waiting = session.exec(select(Erasure.id).where(col(Erasure.followed_at).is_(None))).first()
    if waiting is None:
        return []
    start = app.clock.now().replace(minute=0, second=0, microsecond=0) + FOLLOW_EVERY
    return [start + n * FOLLOW_EVERY for n in range(24)]


def follow_due(*, app: App, session: Session, now: datetime, armed_at: datetime) -> str | None:
    """Calendar job: finish what erasures can finish now (idempotent: no sent record)."""
    done = follow_erasures(app=app, session=session, now=now)
    return f"erasures completed: {done}" if done else None


def follow_erasures(*, app: App, session: Session, now: datetime) -> int:
    """What followed the erasures: mail sent to the address since, IMAP copies. Returns
    how many erasures are now complete."""
    done = 0
    for row in session.exec(select(Erasure).where(col(Erasure.followed_at).is_(None))):
        if row.address_sha256 and not scrub_tables(
            session=session, digest=row.address_sha256, sent_only=True
        ):
            continue  # mail to the address still waits to go: next time
        if row.message_ids and not expunge_copies(app=app, message_ids=row.message_ids):
            continue
        row.address_sha256, row.message_ids, row.followed_at = None, [], now
        session.add(row)
        done += 1
    return done


def expunge_copies(*, app: App, message_ids: list[str]) -> bool:
    """Delete and expunge the copies left in each IMAP account's `Processed` folder."""
    for account in imap_accounts(app.settings):
        try:
            client = connect(account)
        except Exception as exc:  # a server down: try again next time
            log.warning("erasure: IMAP %s unreachable: %s", account.label, exc)
            return False
        try:
            client.select_folder(account.processed_folder)
            for mid in message_ids:
                uids = client.search(["HEADER", "Message-ID", mid])
                if uids:
                    client.delete_messages(uids)
            client.expunge()
        except Exception as exc:
            log.warning("erasure: IMAP %s: %s", account.label, exc)
            return False
        finally:
            logout(client)
    return True
