"""Complaints: feedback reports (ARF, RFC 5965, and the providers' own formats).

A complaint is kept (never a contribution, never answered); the complaining recipient is
unsubscribed from the digest and gets no more digests or reminders (an outbox guard), and
STATS counts complaints. Rule 15: before the bounce rules, since an ARF report is a
`multipart/report` sent by a machine and would otherwise be read as a bounce.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import Message
from email.utils import parseaddr

from sqlalchemy import DateTime
from sqlmodel import Field, Session, SQLModel, col, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.config import Settings
from mailbot.models import Participant, RawMessage
from mailbot.parse import ParsedMail

# Kinds a complainer asked for once and must not get again.
BULK_KINDS = frozenset({"digest", "reminder"})
FEEDBACK_TYPE = re.compile(r"^feedback-type:\s*([\w-]+)", re.I | re.M)
# Microsoft's Junk Mail Reporting Program (JMRP) and similar: the reported message is
# attached with the original recipient in a header of its own.
JMRP_HEADERS = ("x-hmxmroriginalrecipient", "x-original-recipient-jmrp")
# Providers' complaint mail without ARF: Microsoft JMRP ("complaint about message from
# 192.0.2.7", from staff@hotmail.com) and the like, sent by the provider's own domain.
PROVIDER_SUBJECT = re.compile(
    r"^\s*(?:complaint about message from|abuse report|spam report)\b", re.I
)
PROVIDERS = re.compile(r"@(?:hotmail|outlook|live|msn|microsoft|yahoo|aol|comcast)\.", re.I)


class Complaint(SQLModel, table=True):
    """One feedback report (migration c18_01): who complained, how, from which message."""

    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    raw_id: int = Field(foreign_key="raw_message.id", unique=True)
    recipient: str | None = Field(default=None, index=True)  # the complaining address
    feedback_type: str  # abuse | fraud | opt-out | ... | jmrp
    reporter: str | None = None  # who sent the report (the provider)


def is_feedback_report(mail: ParsedMail) -> str | None:
    """How this message shows it is a complaint, or None."""
    ctype = (mail.header("content-type") or "").lower()
    if "multipart/report" in ctype and "feedback-report" in ctype:
        return "multipart/report; report-type=feedback-report (ARF)"
    if any(a.content_type.lower() == "message/feedback-report" for a in mail.attachments):
        return "message/feedback-report part (ARF)"
    if any(mail.header(h) for h in JMRP_HEADERS):
        return "provider complaint header"
    if PROVIDER_SUBJECT.search(mail.subject) and PROVIDERS.search(mail.from_addr):
        return f"provider complaint from {mail.from_addr}"
    if FEEDBACK_TYPE.search(mail.text) and re.search(r"^user-agent:", mail.text, re.I | re.M):
        return "feedback report fields in the text"
    return None


def complaint(mail: ParsedMail, settings: Settings) -> Verdict | None:
    sign = is_feedback_report(mail)
    return Verdict("complaint", f"feedback report: {sign}") if sign else None


def _walk(msg: Message) -> list[Message]:
    return list(msg.walk()) if msg.is_multipart() else [msg]


def report_fields(raw: bytes) -> tuple[str, str | None]:
    """(feedback type, complaining recipient) read from the report's own parts."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    kind, recipient = "abuse", None
    for part in _walk(msg):
        ctype = part.get_content_type()
        if ctype == "message/feedback-report":
            payload = part.get_payload()
            text = "\n".join(str(p) for p in payload) if isinstance(payload, list) else str(payload)
            if match := FEEDBACK_TYPE.search(text):
                kind = match.group(1).lower()
            if match := re.search(r"^original-rcpt-to:\s*(\S+)", text, re.I | re.M):
                recipient = parseaddr(match.group(1))[1] or None
        for name in JMRP_HEADERS:
            if part.get(name):
                kind, recipient = "jmrp", parseaddr(str(part.get(name)))[1] or recipient
        if recipient is None and ctype in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, Message) and inner.get("to"):
                recipient = parseaddr(str(inner.get("to")))[1] or None
    return kind, (recipient.lower() if recipient else None)


def keep_complaint(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """Kept with who complained; that person is sent no more digests or reminders."""
    assert raw.id is not None
    kind, recipient = report_fields(raw.raw)
    if session.exec(select(Complaint.id).where(Complaint.raw_id == raw.id)).first() is None:
        session.add(
            Complaint(
                at=app.clock.now(),
                raw_id=raw.id,
                recipient=recipient,
                feedback_type=kind,
                reporter=mail.from_addr or None,
            )
        )
    notes = [verdict.reason, f"type {kind}"]
    if recipient:
        participant = session.exec(
            select(Participant).where(Participant.email == recipient)
        ).first()
        if participant is not None and participant.digest_subscribed:
            participant.digest_subscribed = False
            session.add(participant)
            notes.append(f"{recipient} unsubscribed from the digest")
        notes.append(f"recipient {recipient}")
    return Outcome(raw.id, mail.message_id, "complaint", "; ".join(notes))


def complaint_guard(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    kind: str,
    recipients: Sequence[str],
    dedupe_key: str,
) -> bool:
    """No digest or reminder to an address that complained about our mail."""
    if kind not in BULK_KINDS:
        return True
    people = [r.lower() for r in recipients]
    return (
        session.exec(select(Complaint.id).where(col(Complaint.recipient).in_(people))).first()
        is None
    )
