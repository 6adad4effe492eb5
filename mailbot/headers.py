"""Reading header values as they come on the wire: encoded words (RFC 2047) that never
raise, raw 8-bit bytes (RFC 6532), the From address read from the raw header, address lists,
Message-IDs, and dates clamped to what mail can carry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.header import decode_header
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

MSGID_RE = re.compile(r"<([^<>\s]+)>")


def unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogates) as text: UTF-8 (RFC 6532),
    else Latin-1, so an address like josé@ survives instead of becoming replacement chars."""
    if value.isascii():  # most headers: nothing to do
        return value
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
    if "=?" not in value:  # no encoded word: decode_header would hand the value back as is
        return _no_surrogates(value)
    try:
        parts = decode_header(value)
    except Exception:  # malformed encoded words: keep the text as it came
        return _no_surrogates(value)
    out: list[str] = []
    pending, pending_charset = b"", ""

    def flush() -> None:
        nonlocal pending
        if pending:
            out.append(decode_bytes(pending, pending_charset))
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


def decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(SUPERSETS.get(charset, charset), "replace")
    except LookupError:  # a charset Python does not know: UTF-8 is the best guess
        return data.decode("utf-8", "replace")


def _no_surrogates(text: str) -> str:
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def msgids(value: str | None) -> tuple[str, ...]:
    return tuple(MSGID_RE.findall(value or ""))


# The shape most From, To and Cc headers have: `Name <local@domain>`, `<local@domain>` or a
# bare `local@domain`, in atoms only (no quotes, comments, dots in the name, groups, routes
# or 8-bit text). For it the stdlib's address parser, a character-at-a-time scanner and the
# costliest step of a parse, would return the name's words joined by one space and the
# address as written: read_from and addresses_in take that here, anything else goes to it.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_ADDR = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_ATEXT}+(?:\.{_ATEXT}+)*"
SIMPLE_MAILBOX = re.compile(
    rf"[ \t]*(?:(?P<name>{_ATEXT}+(?:[ \t]+{_ATEXT}+)*)?[ \t]*<(?P<angle>{_ADDR})>"
    rf"|(?P<bare>{_ADDR}))[ \t]*"
)


def simple_mailbox(value: str) -> tuple[str, str] | None:
    """(name, address) of a mailbox in the simple shape, as `parseaddr` reads it; else None."""
    match = SIMPLE_MAILBOX.fullmatch(value)
    if match is None:
        return None
    name, angle, bare = match.group("name", "angle", "bare")
    return " ".join((name or "").split()), angle or bare


def _simple_mailboxes(values: list[str]) -> list[tuple[str, str]] | None:
    """Every mailbox of comma-separated `values` when all are in the simple shape, else None."""
    pairs = []
    for value in values:
        for piece in value.split(","):
            pair = simple_mailbox(piece)
            if pair is None:
                return None
            pairs.append(pair)
    return pairs


ANGLE_ADDR = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def read_from(raw_value: str) -> tuple[str, str, str | None]:
    """(display name, address, error) of a From header as it came on the wire.

    The address is parsed from the RAW header and only the display name is decoded: an
    encoded word is a phrase, never an address (`=?utf-8?q?chair=40caucus...?= <x@evil>` is
    x@evil; `=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@...>` is hans@...). A header that is there
    but yields no address gives an error the pipeline quarantines with, instead of dropping.
    """
    value = unfold(raw_value).strip()
    if not value:
        return "", "", None
    name, addr = simple_mailbox(value) or parseaddr(value)
    if "@" not in addr:  # not RFC 5322 (an unquoted comma in 8-bit text...): an <addr-spec>
        angle = ANGLE_ADDR.findall(value)
        if angle:
            name, addr = value.rpartition("<")[0].strip().strip('"'), angle[-1]
    name = " ".join(decode_words(name).split())
    if "@" not in addr:
        return name, "", f"unreadable From header: {value[:200]!r}"
    return name, addr.strip().lower(), None


def addresses_in(raw_headers: list[tuple[str, str]], name: str) -> tuple[str, ...]:
    values = [unfold(v) for k, v in raw_headers if k == name]
    if not values:
        return ()
    pairs = _simple_mailboxes(values) or getaddresses(values)
    return tuple(a.strip().lower() for _, a in pairs if "@" in a)


# Dates outside these bounds are impossible for mail we receive; they are clamped, so that a
# "Date: 9999" cannot overflow a threading window or a sort (never fatal, never quarantined).
EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def header_date(value: Any) -> datetime | None:
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
