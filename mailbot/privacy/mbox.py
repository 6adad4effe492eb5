"""One public contribution as a message for the mbox export: the published record, not the
raw bytes (whose From, To, Cc, Received and Return-Path headers carry addresses).

The message keeps what `mailbot ingest --mbox` needs to file it again the same way: the
topic as a subaddress of the consultation's address, the subject, the threading headers,
the date, the language and the text (so the text's SHA-256 stays the same). The author is
the name they chose to show; the address is a made-up one under `.invalid` (RFC 2606).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from mailbot.clock import utc
from mailbot.compose import header_safe
from mailbot.config import Consultation

NO_ADDRESS_DOMAIN = "anonymous.invalid"


def stand_in_address(ref: str) -> str:
    """The address a published message shows instead of its author's: one per contribution."""
    return f"{ref.lower()}@{NO_ADDRESS_DOMAIN}"


def public_message(row: Any, *, consultation: Consultation) -> bytes:
    """`row`: ref, topic, subject, author, language, text, message_id, in_reply_to,
    references, sent_at, received_at (as `publish.store.raw_messages` reads them)."""
    msg = EmailMessage()
    author = header_safe(row.author or "")
    msg["From"] = (
        formataddr((author, stand_in_address(row.ref))) if author else stand_in_address(row.ref)
    )
    local, _, domain = consultation.address.partition("@")
    msg["To"] = f"{local}+{row.topic}@{domain}"
    msg["Subject"] = header_safe(row.subject or "")
    msg["Date"] = format_datetime(utc(row.sent_at or row.received_at))
    if row.message_id:
        msg["Message-ID"] = header_safe(row.message_id)
    if row.in_reply_to:
        msg["In-Reply-To"] = header_safe(row.in_reply_to)
    if row.references:
        msg["References"] = header_safe(" ".join(row.references), limit=8000)
    msg["Content-Language"] = row.language
    msg["X-Mailbot-Reference"] = row.ref
    msg.set_content(row.text or "", charset="utf-8", cte="8bit")
    return msg.as_bytes()
