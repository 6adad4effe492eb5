"""Parse: raw bytes -> an immutable ParsedMail (mail-parser, with the stdlib as a safety net)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

import html2text
import mailparser

from mailbot.hostile.safe import (  # no path parts, no control characters; bounded HTML
    MAX_HTML,
    bounded_sanitize,
    html_depth,
    safe_filename,
)

MSGID_RE = re.compile(r"<([^<>\s]+)>")


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

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def header_all(self, name: str) -> tuple[str, ...]:
        name = name.lower()
        return tuple(v for k, v in self.headers if k == name)


def unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogates) as text: UTF-8 (RFC 6532),
    else Latin-1, so an address like josé@ survives instead of becoming replacement chars."""
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_words(value: str) -> str:
    """RFC 2047 decoding that never raises. Adjacent encoded words in one charset are joined
    before decoding, since senders split multibyte characters across them; anything
    undecodable becomes U+FFFD, never a lone surrogate."""
    try:
        parts = decode_header(value)
    except Exception:  # malformed encoded words: keep the text as it came
        return _no_surrogates(value)
    out: list[str] = []
    pending, pending_charset = b"", ""

    def flush() -> None:
        nonlocal pending
        if pending:
            out.append(_decode_bytes(pending, pending_charset))
            pending = b""

    for data, charset in parts:
        if isinstance(data, str):
            flush()
            out.append(data)
            continue
        charset = (charset or "us-ascii").lower()
        if charset != pending_charset:
            flush()
            pending_charset = charset
        pending += data
    flush()
    return _no_surrogates("".join(out))


# Labels mail clients use for a superset (the WHATWG Encoding Standard reads them so too).
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
}


def _decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(SUPERSETS.get(charset, charset), "replace")
    except LookupError:  # a charset Python does not know: UTF-8 is the best guess
        return data.decode("utf-8", "replace")


def _no_surrogates(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def msgids(value: str | None) -> tuple[str, ...]:
    return tuple(MSGID_RE.findall(value or ""))


def html_to_text(html: str) -> str:
    """Text of an HTML-only message; huge or deeply nested HTML gets a linear tag strip."""
    if len(html) > MAX_HTML or html_depth(html, stop_at=1000) > 1000:
        return " ".join(re.sub(r"<[^<>]*(?:>|$)", " ", html[: 4 * MAX_HTML]).split())
    converter = html2text.HTML2Text()
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.body_width = 0
    return converter.handle(html).strip()


def parse(
    raw: bytes,
    *,
    envelope_from: str | None = None,
    envelope_to: tuple[str, ...] = (),
    source: str = "smtp",
) -> ParsedMail:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    try:
        mp = mailparser.parse_from_bytes(raw)
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
        to=_addrs(raw_headers, "to"),
        cc=_addrs(raw_headers, "cc"),
        reply_to=_addrs(raw_headers, "reply-to"),
        date=_date(first("date")),
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


ANGLE_ADDR = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def read_from(raw_value: str) -> tuple[str, str, str | None]:
    """(display name, address, error) of a From header as it came on the wire.

    The address is parsed from the RAW header and only the display name is decoded: an
    encoded word is a phrase, never an address (`=?utf-8?q?chair=40caucus...?= <x@evil>` is
    x@evil; `=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@...>` is hans@...). A header that is there
    but yields no address gives an error the pipeline quarantines with, instead of dropping.
    """
    value = _unfold(raw_value).strip()
    if not value:
        return "", "", None
    name, addr = parseaddr(value)
    if "@" not in addr:  # not RFC 5322 (an unquoted comma in 8-bit text...): an <addr-spec>
        angle = ANGLE_ADDR.findall(value)
        if angle:
            name, addr = value.rpartition("<")[0].strip().strip('"'), angle[-1]
    name = " ".join(decode_words(name).split())
    if "@" not in addr:
        return name, "", f"unreadable From header: {value[:200]!r}"
    return name, addr.strip().lower(), None


def _addrs(raw_headers: list[tuple[str, str]], name: str) -> tuple[str, ...]:
    values = [_unfold(v) for k, v in raw_headers if k == name]
    return tuple(a.strip().lower() for _, a in getaddresses(values) if "@" in a)


# Dates outside these bounds are impossible for mail we receive; they are clamped, so that a
# "Date: 9999" cannot overflow a threading window or a sort (never fatal, never quarantined).
EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _date(value: Any) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        as_utc = parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset
        return EARLIEST if parsed.year < 2000 else LATEST
    return min(max(as_utc, EARLIEST), LATEST) if not EARLIEST <= as_utc <= LATEST else parsed


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
