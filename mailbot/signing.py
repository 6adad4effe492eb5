"""DKIM: outgoing mail is signed with dkimpy as it is handed to the relay (not when queued, so a
changed key or selector applies to mail still waiting), and `mailbot dkim keygen` makes a key
and prints the DNS record that publishes it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
from dkim import dknewkey

from mailbot.config import Settings
from mailbot.transport import Send, Transport, for_server

# Signed when present. List-Unsubscribe(-Post) must be covered for one-click (RFC 8058).
SIGNED_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
    b"reply-to", b"mime-version", b"content-type", b"content-language", b"auto-submitted",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
)  # fmt: skip


@lru_cache(maxsize=4)
def _key(path: Path, _mtime: float) -> bytes:
    return path.read_bytes()


@dataclass(frozen=True)
class Signer:
    selector: str
    domain: str
    key_file: Path

    def sign(self, raw: bytes) -> bytes:
        """`raw` with a DKIM-Signature header in front (relaxed/relaxed, rsa-sha256)."""
        key = _key(self.key_file, self.key_file.stat().st_mtime)
        present = {line.split(b":", 1)[0].strip().lower() for line in _head(raw)}
        signature = dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in SIGNED_HEADERS if h in present],
        )
        return signature + raw


def _head(raw: bytes) -> list[bytes]:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return [line for line in head.splitlines() if line and line[:1] not in b" \t"]


def signer_for(settings: Settings) -> Signer | None:
    server = settings.server
    if not (server.dkim_selector and server.dkim_key_file):
        return None
    domain = server.dkim_domain or settings.consultation.domain
    return Signer(selector=server.dkim_selector, domain=domain, key_file=server.dkim_key_file)


@dataclass(frozen=True)
class SigningTransport:
    """Another transport, with every message signed on its way in."""

    inner: Transport
    signer: Signer

    @contextmanager
    def connect(self) -> Iterator[Send]:
        with self.inner.connect() as send:
            yield SignedSend(send, self.signer)


@dataclass(frozen=True)
class SignedSend:
    inner: Send
    signer: Signer

    def __call__(self, *, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        self.inner(mail_from=mail_from, recipients=recipients, raw=self.signer.sign(raw))

    def flush(self) -> None:
        self.inner.flush()


def outgoing_transport(settings: Settings) -> Transport:
    """The relay (or maildir) of the config, signing when a DKIM key is configured."""
    transport = for_server(settings.server)
    signer = signer_for(settings)
    return SigningTransport(transport, signer) if signer else transport


def dns_name(*, selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def generate_key(key_file: Path) -> str:
    """Write a new 2048-bit RSA key (mode 0600) and return the TXT record's value."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        dknewkey.GenRSAKeys(str(key_file), verbose=False)
        with tempfile.TemporaryDirectory() as tmp:
            record = Path(tmp) / "dns.txt"
            dknewkey.ExtractRSADnsPublicKey(str(key_file), str(record), verbose=False)
            return record.read_text().strip()
    finally:
        os.umask(old)


def zone_line(*, selector: str, domain: str, record: str) -> str:
    """The record as a zone-file line, in strings of at most 255 characters (RFC 1035)."""
    parts = " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
    return f"{dns_name(selector=selector, domain=domain)}. IN TXT ( {parts} )"
