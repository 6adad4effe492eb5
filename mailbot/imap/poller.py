"""The IMAP poller: catch up on a folder, store each batch, then settle it; IDLE; reconnect.

Exactly-once, step by step, for every batch of new UIDs:

1. `UID FETCH (BODY.PEEK[])` — nothing changes on the server yet;
2. `store_raw_batch` commits the raw bytes (one transaction, deduped by content hash);
3. the position (UIDVALIDITY, last UID) is committed — after the store, never before;
4. only then the batch is moved to the processed folder (or flagged \\Seen).

A crash between any two steps repeats at most the steps after the last commit: re-fetched
bytes are recognised as duplicates by the store, stored-but-unsettled messages (UID <= last
UID still in the folder) are settled at the next start. A new UIDVALIDITY (folder deleted
and re-created) resets the position to 0 and re-reads the folder; the dedupe keeps it
exactly-once. The pipeline, not this module, decides what each message means.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imapclient import IMAPClient
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.db import session_scope
from mailbot.imap import mailbox
from mailbot.imap.config import ImapAccount
from mailbot.imap.mailbox import WIRE_ERRORS, ImapFailure, describe
from mailbot.imap.models import ImapPosition
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch

log = logging.getLogger(__name__)


def load_position(*, app: App, account: ImapAccount) -> ImapPosition | None:
    with session_scope(app.engine) as session:
        return session.exec(
            select(ImapPosition).where(
                ImapPosition.account == account.key, ImapPosition.folder == account.folder
            )
        ).first()


def save_position(
    *,
    app: App,
    account: ImapAccount,
    uidvalidity: int,
    last_uid: int,
    session: Session | None = None,
) -> None:
    """Remember how far the folder was read; with `session`, in the caller's transaction."""
    if session is None:
        with session_scope(app.engine) as own:
            save_position(
                app=app, account=account, uidvalidity=uidvalidity, last_uid=last_uid, session=own
            )
        return
    row = session.exec(
        select(ImapPosition).where(
            ImapPosition.account == account.key, ImapPosition.folder == account.folder
        )
    ).first() or ImapPosition(
        account=account.key,
        folder=account.folder,
        uidvalidity=0,
        last_uid=0,
        updated_at=app.clock.now(),
    )
    row.uidvalidity, row.last_uid, row.updated_at = uidvalidity, last_uid, app.clock.now()
    session.add(row)


@dataclass
class Tally:
    stored: int = 0  # new raw messages
    duplicates: int = 0  # bytes the store already had (a re-read after a crash or new UIDVALIDITY)


@dataclass
class Poller:
    """Reads one folder of one account. `process=True` also runs the pipeline after each batch
    (the CLI); inside `mailbot run` the pipeline worker does that, woken by `on_stored`."""

    app: App
    account: ImapAccount
    process: bool = False
    on_stored: Callable[[], None] | None = None
    progress: Callable[[int, int], None] | None = None  # (messages done, messages seen)
    _state: str = field(default="", repr=False)
    _backoff: float = field(default=1.0, repr=False)

    # -- one pass --------------------------------------------------------------
    def catch_up(self, client: IMAPClient) -> Tally:
        """Take every message above the position, batch by batch; settle leftovers first."""
        account, tally = self.account, Tally()
        info = client.select_folder(account.folder)
        mailbox.told_of_new_mail(client)  # the SELECT's own count is not news
        uidvalidity = int(info[b"UIDVALIDITY"])
        position = load_position(app=self.app, account=account)
        last = 0
        if position is not None and position.uidvalidity == uidvalidity:
            last = position.last_uid
        else:
            if position is not None:
                log.warning(
                    "imap %s: UIDVALIDITY changed %d -> %d: re-reading the folder (messages "
                    "already stored are recognised and not filed twice)",
                    account.label,
                    position.uidvalidity,
                    uidvalidity,
                )
            save_position(app=self.app, account=account, uidvalidity=uidvalidity, last_uid=0)
        if account.after == "move":
            mailbox.ensure_folder(client, account.processed_folder)
        if left := mailbox.leftovers(client, account, last):
            log.info(
                "imap %s: settling %d message(s) stored before an interruption",
                account.label,
                len(left),
            )
            mailbox.settle(client, account, left)
        # Until a SEARCH finds nothing and no EXISTS came meanwhile (one may come with the
        # SEARCH's own answer, for mail that arrived during it).
        while (new := mailbox.uids_above(client, last)) or mailbox.told_of_new_mail(client):
            for batch in mailbox.batches(
                client, new, count=account.options.batch_size, size=account.options.batch_bytes
            ):
                self._take(client, batch, uidvalidity, tally)
                last = batch[-1]
                if self.progress:
                    self.progress(tally.stored + tally.duplicates, len(new))
        return tally

    def _take(self, client: IMAPClient, uids: list[int], uidvalidity: int, tally: Tally) -> None:
        fetched = mailbox.fetch_raw(client, uids)
        if len(fetched) < len(uids) and (lost := mailbox.still_there(client, uids, fetched)):
            # Skipping would let the position pass a message never stored (and a later
            # settle() move it unread): fail the pass, the reconnect retries it.
            raise ImapFailure(f"{self.account.label}: no body returned for UID(s) {lost}")
        # The batch and the position that covers it commit together: after a crash either
        # both are there or neither is (the content-hash dedupe covers a re-read anyway).
        with session_scope(self.app.engine) as session:
            results = store_raw_batch(
                app=self.app,
                items=[RawIn(raw=raw, source="imap") for _, raw in fetched],
                session=session,
            )
            save_position(
                app=self.app,
                account=self.account,
                uidvalidity=uidvalidity,
                last_uid=uids[-1],
                session=session,
            )
        if self.on_stored:
            self.on_stored()
        mailbox.settle(client, self.account, [uid for uid, _ in fetched])
        known = sum(r.duplicate for r in results)
        tally.stored += len(results) - known
        tally.duplicates += known
        log.info(
            "imap %s: stored %d message(s)%s, UIDs %d-%d %s",
            self.account.label,
            len(results) - known,
            f" ({known} already stored)" if known else "",
            uids[0],
            uids[-1],
            "moved to " + self.account.processed_folder
            if self.account.after == "move"
            else "flagged \\Seen",
        )
        if self.process:
            process_pending(app=self.app)

    def poll_once(self) -> Tally:
        """Connect, catch up, log out. Raises ImapFailure with a one-line reason."""
        client = mailbox.connect(self.account)
        try:
            return self.catch_up(client)
        except WIRE_ERRORS as exc:
            raise ImapFailure(f"{self.account.label}: {describe(exc)}") from None
        finally:
            mailbox.logout(client)

    def backfill(self) -> Tally:
        """Import the whole folder, read-only: no position, no move, no flag (an archive)."""
        client = mailbox.connect(self.account)
        tally = Tally()
        try:
            client.select_folder(self.account.folder, readonly=True)
            uids = sorted(client.search("ALL"))
            opts = self.account.options
            for batch in mailbox.batches(
                client, uids, count=opts.batch_size, size=opts.batch_bytes
            ):
                fetched = mailbox.fetch_raw(client, batch)
                results = store_raw_batch(
                    app=self.app,
                    items=[RawIn(raw=raw, source="imap-backfill") for _, raw in fetched],
                )
                known = sum(r.duplicate for r in results)
                tally.stored += len(results) - known
                tally.duplicates += known
                if self.process:
                    process_pending(app=self.app)
                if self.progress:
                    self.progress(tally.stored + tally.duplicates, len(uids))
        except WIRE_ERRORS as exc:
            raise ImapFailure(f"{self.account.label}: {describe(exc)}") from None
        finally:
            mailbox.logout(client)
        return tally

    # -- forever ---------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Catch up, then wait for mail (IDLE or polling); reconnect with backoff on failure."""
        opts = self.account.options
        self._backoff = opts.backoff_initial
        while not stop.is_set():
            try:
                client = mailbox.connect(self.account)
            except ImapFailure as exc:
                level = logging.ERROR if exc.login else logging.WARNING
                self._say("down " + str(exc), f"{exc}; retrying in {self._backoff:g} s", level)
                self._pause(stop)
                continue
            try:
                self._serve(client, stop)
            except ImapFailure as exc:
                self._say("failed " + str(exc), f"{exc}; retrying in {self._backoff:g} s")
            except WIRE_ERRORS as exc:
                self._say("lost", f"connection lost ({describe(exc)}); reconnecting in "
                          f"{self._backoff:g} s", logging.WARNING)  # fmt: skip
            except SQLAlchemyError as exc:
                self._say("db", f"database error ({describe(exc)}); nothing settled, "
                          f"retrying in {self._backoff:g} s", logging.ERROR)  # fmt: skip
            except Exception:  # a bug must not end intake for good: log it whole, go on
                log.exception("imap %s: unexpected error; retrying in %g s", self.account.label,
                              self._backoff)  # fmt: skip
                self._state = "bug"
            finally:
                mailbox.logout(client)
            self._pause(stop)
        self._say("stopped", "stopped")

    def _pause(self, stop: threading.Event) -> None:
        stop.wait(self._backoff)
        self._backoff = min(self._backoff * 2, self.account.options.backoff_max)

    def _serve(self, client: IMAPClient, stop: threading.Event) -> None:
        opts = self.account.options
        idle = b"IDLE" in client.capabilities()
        how = "waiting with IDLE" if idle else f"polling every {opts.poll_interval:g} s"
        self._say("up", f"connected, {how}")
        while not stop.is_set():
            self.catch_up(client)
            # Only a connection that did its work starts the backoff over: one failing right
            # after login (a missing folder, say) keeps doubling it.
            self._backoff = opts.backoff_initial
            self._idle(client, stop) if idle else self._poll_wait(client, stop)

    def _idle(self, client: IMAPClient, stop: threading.Event) -> None:
        """IDLE until new mail, stop, or the renewal time (RFC 2177 asks for < 29 min)."""
        client.idle()
        renew_at = time.monotonic() + self.account.options.idle_renew
        try:
            while not stop.is_set() and time.monotonic() < renew_at:
                # Short slices keep stop() prompt; the server's push still wakes us at once.
                began = time.monotonic()
                responses = client.idle_check(timeout=1.0)
                if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    break
                if not responses and time.monotonic() - began < 0.5:
                    # imapclient swallows EOF inside idle_check: a closed connection looks
                    # like "readable, nothing said". Ending IDLE proves it alive, or raises.
                    break
        finally:
            client.idle_done()

    def _poll_wait(self, client: IMAPClient, stop: threading.Event) -> None:
        stop.wait(self.account.options.poll_interval)
        client.noop()

    def _say(self, state: str, message: str, level: int = logging.INFO) -> None:
        """One log line per change of state; the same failure again only at debug level."""
        log.log(
            level if state != self._state else logging.DEBUG,
            "imap %s: %s",
            self.account.label,
            message,
        )
        self._state = state
