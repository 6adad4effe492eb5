"""The IMAP wire: connect, log in, list new UIDs, fetch raw bytes, settle what was stored.

Only moves bytes; what a message means is the pipeline's business. Every failure leaves as
`ImapFailure` with a one-line reason, so callers log it or print it without a traceback.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import socket
import ssl
from collections.abc import Iterator, Sequence

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.imap.config import ImapAccount

log = logging.getLogger(__name__)


class ImapFailure(Exception):
    """Talking to the server failed; `str()` is the one-line reason."""

    def __init__(self, reason: str, *, login: bool = False) -> None:
        super().__init__(reason)
        self.login = login  # bad credentials: retrying soon will not help


# What a dead connection, a refused login or a confused server raise inside imapclient.
WIRE_ERRORS: tuple[type[BaseException], ...] = (
    IMAPClientError,
    imaplib.IMAP4.error,
    OSError,  # includes socket.timeout, ConnectionError and ssl.SSLError
    EOFError,
)


def describe(exc: BaseException) -> str:
    """A one-line reason for an exception from the wire."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionError | socket.gaierror) and exc.strerror:
        return exc.strerror
    text = str(exc).strip() or type(exc).__name__
    if isinstance(text, bytes):  # some imaplib errors carry the server's bytes
        text = text.decode("utf-8", "replace")
    return " ".join(text.split())


def _tls_context(account: ImapAccount) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(account.cafile) if account.cafile else None)


def connect(account: ImapAccount) -> IMAPClient:
    """A logged-in client: implicit TLS, or STARTTLS, or plain only when allowed."""
    where = f"{account.host}:{account.port}"
    try:
        client = IMAPClient(
            account.host,
            port=account.port,
            ssl=account.implicit_tls,
            ssl_context=_tls_context(account) if account.implicit_tls else None,
            timeout=account.options.timeout,
        )
    except WIRE_ERRORS as exc:
        raise ImapFailure(f"cannot connect to {where}: {describe(exc)}") from None
    try:
        if not account.implicit_tls:
            if b"STARTTLS" in client.capabilities():
                client.starttls(_tls_context(account))
            elif not account.allow_plain:
                raise ImapFailure(
                    f"{where} offers no STARTTLS; use imaps:// or allow_plain to send the "
                    "password in clear"
                )
        if account.auth == "xoauth2":
            token = account.token_file.read_text().strip() if account.token_file else account.secret
            client.oauth2_login(account.user, token)
        else:
            client.login(account.user, account.secret)
    except ImapFailure:
        _close(client)
        raise
    except LoginError as exc:
        _close(client)
        raise ImapFailure(
            f"login as {account.user} at {where} refused: {describe(exc)}", login=True
        ) from None
    except WIRE_ERRORS as exc:
        _close(client)
        raise ImapFailure(f"{where}: {describe(exc)}") from None
    return client


def _close(client: IMAPClient) -> None:
    with contextlib.suppress(*WIRE_ERRORS):
        client.shutdown()


def logout(client: IMAPClient) -> None:
    """Say goodbye if the connection still works; never raise."""
    try:
        client.logout()
    except WIRE_ERRORS:
        _close(client)


def told_of_new_mail(client: IMAPClient) -> bool:
    """Whether the server said EXISTS since the last call (forgotten once asked). Such a line
    can come with the answer to another command: Dovecot sends it after a SEARCH that did not
    see a message appended meanwhile. imaplib keeps it aside and IDLE does not say it again,
    so without asking here that message would wait for the IDLE renewal."""
    pending = client._imap.untagged_responses  # imaplib's; imapclient has no accessor
    return pending.pop("EXISTS", None) is not None


def uids_above(client: IMAPClient, last_uid: int) -> list[int]:
    """UIDs of the selected folder greater than last_uid, ascending."""
    # "n:*" always matches the highest UID, even when it is below n: filter here.
    return sorted(u for u in client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)


def batches(
    client: IMAPClient, uids: Sequence[int], *, count: int, size: int
) -> Iterator[list[int]]:
    """Split UIDs into fetch batches of at most `count` messages and about `size` bytes."""
    sizes: dict[int, int] = {}
    for start in range(0, len(uids), 5000):  # one round trip per 5,000 sizes
        part = uids[start : start + 5000]
        for uid, data in client.fetch(part, ["RFC822.SIZE"]).items():
            sizes[uid] = int(data.get(b"RFC822.SIZE", 0))
    batch: list[int] = []
    total = 0
    for uid in uids:
        if uid not in sizes:  # expunged meanwhile
            continue
        if batch and (len(batch) >= count or total + sizes[uid] > size):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes[uid]
    if batch:
        yield batch


def fetch_raw(client: IMAPClient, uids: Sequence[int]) -> list[tuple[int, bytes]]:
    """(uid, exact bytes) in UID order; BODY.PEEK[] so the server sets no \\Seen flag."""
    fetched = client.fetch(list(uids), ["BODY.PEEK[]"])
    out = []
    for uid in sorted(fetched):
        raw = fetched[uid].get(b"BODY[]")
        if isinstance(raw, bytes):
            out.append((uid, raw))
    return out


def still_there(
    client: IMAPClient, uids: Sequence[int], fetched: Sequence[tuple[int, bytes]]
) -> list[int]:
    """UIDs asked for, not returned, yet not expunged either (a server-side failure)."""
    missing = sorted(set(uids) - {uid for uid, _ in fetched})
    return sorted(u for u in client.search(["UID", ",".join(map(str, missing))]) if u in missing)


def ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)
        log.info("imap: created folder %s", folder)


def settle(client: IMAPClient, account: ImapAccount, uids: Sequence[int]) -> None:
    """Mark stored messages as taken: move them to the processed folder, or flag \\Seen."""
    if not uids:
        return
    if account.after == "seen":
        client.add_flags(list(uids), [b"\\Seen"], silent=True)
        return
    capabilities = client.capabilities()
    if b"MOVE" in capabilities:
        client.move(list(uids), account.processed_folder)
        return
    # RFC 6851 fallback. UID EXPUNGE (UIDPLUS) removes only our messages; a bare EXPUNGE
    # would also remove what someone else flagged \Deleted in this folder.
    client.copy(list(uids), account.processed_folder)
    client.add_flags(list(uids), [b"\\Deleted"], silent=True)
    if b"UIDPLUS" in capabilities:
        client.uid_expunge(list(uids))
    else:
        client.expunge()


def leftovers(client: IMAPClient, account: ImapAccount, last_uid: int) -> list[int]:
    """Stored messages (UID <= last_uid) still waiting for settle(): a crash came between."""
    if last_uid <= 0:
        return []
    criteria: list[str] = ["UID", f"1:{last_uid}"]
    if account.after == "seen":
        criteria.insert(0, "UNSEEN")
    return sorted(u for u in client.search(criteria) if u <= last_uid)
