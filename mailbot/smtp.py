"""The SMTP/LMTP edge: accept our addresses at RCPT, store at DATA, answer 250 only once stored.

This module moves bytes and maps results to SMTP answers; decisions live in the pipeline.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailbot.addresses import is_ours
from mailbot.config import Settings
from mailbot.edge import BoundedData, BoundedLMTP, EdgeLimits
from mailbot.groupcommit import GroupCommitter
from mailbot.receive import RawIn

log = logging.getLogger(__name__)


class Handler:
    def __init__(self, *, settings: Settings, committer: GroupCommitter, protocol: str) -> None:
        self.settings = settings
        self.committer = committer
        self.protocol = protocol

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not is_ours(address, self.settings):
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        item = RawIn(
            raw=raw,
            source=self.protocol,
            envelope_from=envelope.mail_from,
            envelope_to=tuple(envelope.rcpt_tos),
        )
        try:
            result = await self.committer.store(item)
        except Exception as exc:  # the database is unwell: the sender keeps it and retries
            log.error("451 to %s: %s", envelope.mail_from, exc)
            status = "451 4.3.0 Temporary storage failure, try again later"
        else:
            if result is None:  # on disk in the spool (SQLite), in the database next
                status = "250 2.0.0 Stored (spooled)"
            else:
                status = f"250 2.0.0 Stored as {result.raw_id}" + (
                    " (duplicate)" if result.duplicate else ""
                )
        if self.protocol == "lmtp":  # LMTP answers once per recipient
            return "\r\n".join(status for _ in envelope.rcpt_tos)
        return status


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    server = settings.server
    if not (server.tls_cert and server.tls_key):
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(server.tls_cert), str(server.tls_key))
    return context


def edge_limits() -> EdgeLimits:
    """Connection caps and session time of one listener (tests put smaller ones here)."""
    return EdgeLimits()


def server_factory(*, settings: Settings, committer: GroupCommitter) -> Any:
    """A protocol factory for loop.create_server: SMTP or LMTP, STARTTLS when configured."""
    protocol = settings.server.protocol
    handler = Handler(settings=settings, committer=committer, protocol=protocol)
    cls = BoundedLMTP if protocol == "lmtp" else BoundedData
    edge = edge_limits()
    context = tls_context(settings)
    # The protocol refuses bigger DATA with "552 Too much mail data" before we store it.
    limit = settings.server.max_message_size

    def factory() -> SMTP:
        return cls(
            handler,
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.consultation.domain,
            ident="mailbot",
            tls_context=context,
            edge=edge,
        )

    return factory
