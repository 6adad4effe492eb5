"""Parse: raw bytes -> an immutable ParsedMail (mail-parser, with the stdlib as a safety net)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from functools import cached_property
from typing import TYPE_CHECKING, Any

import html2text
import mailparser

from mailbot.headers import (
    addresses_in,
    decode_words,
    header_date,
    msgids,
    read_from,
    unescape_8bit,
)
from mailbot.hostile.safe import (  # no path parts, no control characters; bounded HTML
    MAX_HTML,
    bounded_sanitize,
    html_depth,
    safe_filename,
)

if TYPE_CHECKING:
    from mailbot.reading import Reading


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    payload: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None  # without angle brackets
    subject: str  # decoded
    from_addr: str  # lower-cased, "" when missing
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]  # (lower-cased name, decoded value), in order
    text: str  # the plain text; HTML-only mail turned into text
    html: str | None  # the HTML part as sent (never shown without sanitising)
    content_type: str
    content_language: str | None
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    envelope_from: str | None = None
    envelope_to: tuple[str, ...] = ()
    source: str = "smtp"
    from_error: str | None = None  # a From header was there but no address could be read
    safe_html: str | None = None  # the HTML sanitised (bounded), made here, outside any lock
    html_note: str | None = None  # why the HTML is not kept (too big, too deep)
    # The list's address when a list rewrote From (DMARC) and the author was taken back.
    list_from: str | None = None
    # A contribution's text as filing reads it (reading.py), worked out before the write turn.
    reading: Reading | None = None

    def header(self, name: str) -> str | None:
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    def header_all(self, name: str) -> tuple[str, ...]:
        return tuple(self._by_name.get(name.lower(), ()))

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        """The headers by name, made on the first look-up (the rules ask for ~30 names)."""
        index: dict[str, list[str]] = {}
        for key, value in self.headers:
            index.setdefault(key, []).append(value)
        return index


def html_to_text(html: str) -> str:
    """Text of an HTML-only message; huge or deeply nested HTML gets a linear tag strip."""
    if len(html) > MAX_HTML or html_depth(html, stop_at=1000) > 1000:
        return " ".join(re.sub(r"<[^<>]*(?:>|$)", " ", html[: 4 * MAX_HTML]).split())
    converter = html2text.HTML2Text()
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.body_width = 0
    return converter.handle(html).strip()


class _Bodies(mailparser.MailParser):
    """mail-parser's walk of the MIME tree (text parts, HTML parts, attachments) without what
    parse() throws away: its header reports (every address header parsed, the dates, the
    Received hops: over half of its time) and the two dicts of every header and part it builds
    (`mail`, `mail_partial`). parse() reads the headers once itself (mailbot.headers)."""

    def _reset(self) -> None:
        # mail-parser's reset also builds the header reports: it is shown no headers for it,
        # then the walk (its parse) reads the message's parts as usual.
        message = self.message
        self._message = None
        try:
            super()._reset()
        finally:
            self._message = message

    def _make_mail(self, complete: bool = True) -> dict[str, Any]:
        return {}


def parse(
    raw: bytes,
    *,
    envelope_from: str | None = None,
    envelope_to: tuple[str, ...] = (),
    source: str = "smtp",
) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    try:
        # The message parsed once: mail-parser reads the same tree (it only reads it).
        mp = _Bodies(message=msg)
        texts, htmls = list(mp.text_plain), list(mp.text_html)
        atts = [_attachment(a) for a in mp.attachments]
    except Exception:  # mail-parser gave up: fall back to walking the MIME tree ourselves
        texts, htmls, atts = _walk(msg)
    raw_headers = [(k.lower(), unescape_8bit(str(v))) for k, v in msg.raw_items()]
    headers = tuple((k, decode_words(v)) for k, v in raw_headers)

    def first(name: str) -> str:
        return next((v for k, v in raw_headers if k == name), "")

    html = "\n".join(htmls) if htmls else None
    text = "\n".join(t for t in texts if t.strip())
    if not text.strip() and html:
        text = html_to_text(html)
    safe_html, html_note = bounded_sanitize(html)
    name, addr, from_error = read_from(first("from"))
    return ParsedMail(
        message_id=next(iter(msgids(first("message-id"))), None),
        subject=" ".join(decode_words(first("subject")).split()),
        from_addr=addr,
        from_name=name,
        to=addresses_in(raw_headers, "to"),
        cc=addresses_in(raw_headers, "cc"),
        reply_to=addresses_in(raw_headers, "reply-to"),
        date=header_date(first("date")),
        in_reply_to=next(iter(msgids(first("in-reply-to"))), None),
        references=msgids(first("references")),
        headers=headers,
        text=text.replace("\r\n", "\n"),
        html=html,
        content_type=msg.get_content_type(),
        content_language=first("content-language").split(",")[0].strip().lower() or None,
        attachments=tuple(atts),
        defects=tuple(type(d).__name__ for d in msg.defects),
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        source=source,
        from_error=from_error,
        safe_html=safe_html,
        html_note=html_note,
    )


def _attachment(a: dict[str, Any]) -> Attachment:
    payload = a.get("payload") or ""
    data = (
        _b64(payload)
        if a.get("binary")
        else payload.encode("utf-8", "replace")
        if isinstance(payload, str)
        else bytes(payload)
    )
    return Attachment(
        filename=safe_filename(str(a.get("filename") or "")),
        content_type=str(a.get("mail_content_type") or "application/octet-stream"),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        payload=data,
    )


def _b64(payload: str) -> bytes:
    import base64

    try:
        return base64.b64decode(payload)
    except ValueError:
        return payload.encode("ascii", "replace")


def _walk(msg: Message) -> tuple[list[str], list[str], list[Attachment]]:
    texts: list[str] = []
    htmls: list[str] = []
    atts: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", "replace")
        if part.get_filename() or part.get_content_maintype() not in ("text",):
            atts.append(
                Attachment(
                    filename=safe_filename(decode_words(part.get_filename() or "")),
                    content_type=part.get_content_type(),
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    payload=data,
                )
            )
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            body = data.decode(charset, "replace")
        except LookupError:
            body = data.decode("utf-8", "replace")
        (htmls if part.get_content_subtype() == "html" else texts).append(body)
    return texts, htmls, atts
