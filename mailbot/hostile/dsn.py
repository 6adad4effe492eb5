"""Reading a delivery report: which addresses failed, and how badly.

RFC 3464 per-recipient fields first (Final-Recipient, Action, Status); for the reports that
are not DSNs, the human-readable text up to where the returned message starts. Only reads
bytes: deciding that a message is a bounce, and scoring it, is `mailbot.hostile.bounces`.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import re
from collections.abc import Collection
from dataclasses import dataclass
from email.message import Message

# Local parts of the mail systems that send reports (never a failed recipient).
DAEMONS = {
    "mailer-daemon",
    "mail-daemon",
    "maildaemon",
    "mailerdaemon",
    "mdaemon",
    "mmdf",
    "smtp",
    "mail.delivery.subsystem",
    "postmaster",
    "mailadmin",
    "mail-admin",
}
SOFT_TEXT = re.compile(
    r"delay|will (?:be )?retr(?:y|ied)|still being retried|not yet been delivered"
    r"|temporar|try again later|warning:|deferred|in the queue",
    re.I,
)
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
RETURNED_PART = re.compile(
    r"^-+ ?(?:original message|this is a copy|message text follows|returned message|"
    r"undelivered message|forwarded message|below this line|start of returned)|^received:",
    re.I | re.M,
)


@dataclass(frozen=True)
class Failure:
    address: str | None
    severity: str  # hard | soft
    status: str | None
    detector: str  # dsn | text


def _dsn_blocks(msg: Message) -> list[Message]:
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                return [p for p in payload if isinstance(p, Message)]
            text = part.get_payload(decode=True) or b""
            blocks = re.split(rb"\r?\n\r?\n", text if isinstance(text, bytes) else b"")
            return [email.message_from_bytes(b + b"\n\n") for b in blocks if b.strip()]
    return []


def _addr(value: str | None) -> str | None:
    found = ADDRESS.findall(value or "")
    return found[-1].lower() if found else None


def _severity(status: str | None, text: str) -> str:
    if status:
        return "soft" if status.startswith("4") else "hard"
    return "soft" if SOFT_TEXT.search(text) else "hard"


def _report_text(msg: Message) -> str:
    """The human-readable part of the report, up to where the returned message starts."""
    texts: list[str] = []
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            break
        if part.get_content_maintype() == "text":
            data = part.get_payload(decode=True) or b""
            if isinstance(data, bytes):
                texts.append(
                    data.decode(part.get_content_charset() or "latin-1", "replace")
                    if _known_charset(part)
                    else data.decode("latin-1")
                )
    text = "\n".join(texts)[:20000]
    cut = RETURNED_PART.search(text)
    return text[: cut.start()] if cut else text


def _known_charset(part: Message) -> bool:
    try:
        codecs.lookup(part.get_content_charset() or "latin-1")
    except LookupError:
        return False
    return True


def failures(raw: bytes, *, ignore: Collection[str] = ()) -> list[Failure]:
    """Which addresses failed, how badly: DSN per-recipient fields first, then the text."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    found: list[Failure] = []
    for block in _dsn_blocks(msg):
        address = _addr(block.get("Final-Recipient")) or _addr(block.get("Original-Recipient"))
        action = str(block.get("Action", "")).strip().lower()
        if not address or action in ("delivered", "relayed", "expanded"):
            continue
        status_match = STATUS.search(str(block.get("Status", "")))
        status = status_match.group(0) if status_match else None
        severity = "soft" if action == "delayed" else _severity(status, "")
        found.append(Failure(address, severity, status, "dsn"))
    if found:
        return found
    text = _report_text(msg)
    status_match = STATUS.search(text)
    status = status_match.group(0) if status_match and status_match.group(1) != "2" else None
    severity = _severity(status, text + " " + str(msg.get("Subject", "")))
    addresses = [
        a.lower()
        for a in dict.fromkeys(ADDRESS.findall(text))
        if a.lower() not in ignore and a.partition("@")[0].lower() not in DAEMONS
    ]
    return [Failure(a, severity, status, "text") for a in addresses] or [
        Failure(None, severity, status, "text")
    ]
