"""Transports: hand one outgoing message to the relay (MAILBOT_RELAY) or to a local maildir.

The relay's TLS: `auto` uses STARTTLS when offered, `starttls` requires it, `tls` is implicit
TLS (port 465), `none` never encrypts (a relay on localhost). The certificate is verified
against the system's CAs, or against `relay_ca_file` (Debian's Postfix has a self-signed one).
"""

from __future__ import annotations

import ctypes
import hashlib
import mailbox
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from mailbot.config import Server


class TemporaryFailure(Exception):
    """Try again later (4xx, connection refused, timeout)."""


class PermanentFailure(Exception):
    """The server said no for good (5xx); the text is its answer."""


class Send(Protocol):
    """An open connection: call it to hand a message over; `flush` returns once everything
    handed over so far is durable on the other side (the sender marks rows sent after it)."""

    def __call__(self, *, mail_from: str, recipients: Sequence[str], raw: bytes) -> None: ...

    def flush(self) -> None: ...


class Transport(Protocol):
    def connect(self) -> AbstractContextManager[Send]: ...


@dataclass(frozen=True)
class MaildirTransport:
    """A local maildir. A message is filed under a name made from its Message-ID, so a row
    sent again after its sender died mid-batch (scale/claims.py) lands once, not twice."""

    path: Path

    @contextmanager
    def connect(self) -> Iterator[Send]:
        mailbox.Maildir(self.path, create=True)  # the tmp/ new/ cur/ folders
        batch = MaildirBatch(self.path)
        try:
            yield batch
        finally:
            batch.flush()


MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


@dataclass
class MaildirBatch:
    """Messages written to tmp/ as they come, made durable together at `flush`: one syncfs
    for the batch instead of one fsync (one journal commit) per message, then each linked
    into new/ (unless a message of that name is there already) and new/ itself synced."""

    path: Path
    pending: dict[str, Path] = field(default_factory=dict)  # name -> its file in tmp/

    def __call__(self, *, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        head = f"Return-Path: <{mail_from}>\r\nDelivered-To: {', '.join(recipients)}\r\n"
        message = head.encode() + raw
        match = MESSAGE_ID.search(raw[:65536])
        if match is None:  # no Message-ID to file it by: a unique name
            name = f"{uuid.uuid4().hex}.mailbot"
        else:
            key = match.group(1).strip() + b"\0" + ",".join(recipients).encode()
            name = hashlib.sha256(key).hexdigest()[:40] + ".mailbot"
        if name in self.pending:
            return  # the same message to the same people twice in a batch: once is enough
        tmp = self.path / "tmp" / f"{name}.{os.getpid()}"
        tmp.write_bytes(message)
        self.pending[name] = tmp

    def flush(self) -> None:
        if not self.pending:
            return
        _sync(self.path / "tmp", list(self.pending.values()))
        for name, tmp in self.pending.items():
            try:
                if not (self.path / "cur" / name).exists():  # a reader may have moved it
                    os.link(tmp, self.path / "new" / name)
            except FileExistsError:
                pass  # handed over before: once is enough
            finally:
                tmp.unlink()
        self.pending.clear()
        _fsync_dir(self.path / "new")  # the links survive a power cut before `sent` is recorded


def _syncfs() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


SYNCFS = _syncfs()


def _sync(folder: Path, files: Sequence[Path]) -> None:
    """Every file's data on disk: the file system's syncfs (Linux), else one fsync each."""
    if SYNCFS is not None and len(files) > 1:
        fd = os.open(folder, os.O_RDONLY)
        try:
            if SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in files:
        with open(path, "rb") as file:
            os.fsync(file.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# URL scheme -> TLS mode; `relay_tls` in the config overrides the scheme's.
SCHEME_MODES = {"smtp": "auto", "smtps": "tls", "smtp+starttls": "starttls"}


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    mode: str  # auto | starttls | tls | none (see the module's docstring)
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: Path | None = None

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def _open(self) -> smtplib.SMTP:
        """A logged-in connection to the relay; a failure says whether retrying can help."""
        try:
            if self.mode == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.tls_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                client.ehlo()
                if self.mode != "none" and client.has_extn("starttls"):
                    client.starttls(context=self.tls_context())
                    client.ehlo()
                elif self.mode == "starttls":
                    raise TemporaryFailure("relay does not offer STARTTLS")
            if self.username:
                client.login(self.username, self.password or "")
            return client
        except (OSError, smtplib.SMTPException) as exc:
            if isinstance(exc, smtplib.SMTPAuthenticationError) and exc.smtp_code >= 500:
                raise PermanentFailure(
                    f"relay login refused: {exc.smtp_code} {exc.smtp_error!r}"
                ) from exc
            raise TemporaryFailure(f"relay {self.host}:{self.port} unreachable: {exc}") from exc

    @contextmanager
    def connect(self) -> Iterator[Send]:
        client = self._open()
        try:
            yield RelaySend(client)
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


@dataclass(frozen=True)
class RelaySend:
    """A connection to the relay: its 250 is the hand-over, so there is nothing to flush."""

    client: smtplib.SMTP

    def __call__(self, *, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        _send(self.client, mail_from=mail_from, recipients=recipients, raw=raw)

    def flush(self) -> None:
        pass


def _send(client: smtplib.SMTP, *, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
    # A UTF-8 address (RFC 6531) needs SMTPUTF8; a relay without it refuses (5xx).
    utf8 = not all(a.isascii() for a in (mail_from, *recipients))
    options = ["SMTPUTF8"] if utf8 else []
    try:
        refused = client.sendmail(mail_from, list(recipients), raw, mail_options=options)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        text = "; ".join(f"{r}: {c} {m!r}" for r, (c, m) in exc.recipients.items())
        kind = TemporaryFailure if all(c < 500 for c in codes) else PermanentFailure
        raise kind(text) from exc
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        if isinstance(error, bytes):
            error = error.decode("utf-8", "replace")
        kind = PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure
        raise kind(f"{exc.smtp_code} {error}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(str(exc)) from exc
    # `refused` lists recipients refused while others were accepted: the message went out,
    # so it is sent; the refusals come back as bounces if they matter.
    del refused


def from_settings(
    *,
    relay: str | None,
    maildir: Path,
    tls: str | None = None,
    ca_file: Path | None = None,
    username: str | None = None,
    password: str | None = None,
) -> MaildirTransport | SmtpTransport:
    """The transport for a relay URL; explicit options win over what the URL says."""
    if not relay:
        return MaildirTransport(maildir)
    url = urlsplit(relay)
    mode = tls or SCHEME_MODES.get(url.scheme, "auto")
    default_port = 465 if mode == "tls" else 587 if mode == "starttls" else 25
    return SmtpTransport(
        host=url.hostname or "localhost",
        port=url.port or default_port,
        mode=mode,
        username=username or (unquote(url.username) if url.username else None),
        password=password or (unquote(url.password) if url.password else None),
        ca_file=ca_file,
    )


def for_server(server: Server) -> MaildirTransport | SmtpTransport:
    """The transport the [server] section describes."""
    return from_settings(
        relay=server.relay,
        maildir=server.outbox_maildir,
        tls=server.relay_tls,
        ca_file=server.relay_ca_file,
        username=server.relay_username,
        password=server.relay_password,
    )
