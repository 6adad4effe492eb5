"""Limits on incoming mail, checked on the raw bytes before any parser sees them.

Header block size and count, MIME depth, number of parts and attachment size. The scan is
iterative (no recursion, so a 10,000-deep MIME bomb costs a loop, not a stack) and never
decodes bodies: sizes are estimated from the encoded length, and compressed attachments are
never expanded — nothing here or anywhere in mailbot opens an archive.
A message over a limit raises `LimitExceeded`; the pipeline moves it to quarantine with the
reason, where `mailbot replay` can retry it after the operator raises the limit.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.hostile.config import Limits

HEADER_START = re.compile(rb"^[^\s:]+[ \t]*:", re.M)
BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# A part whose header block names neither is a leaf, whatever its type: the header block is
# parsed only for a part that may be a container (or to name a leaf over the size limit).
CONTAINER = re.compile(rb"multipart/|message/rfc822", re.I)


class LimitExceeded(Exception):
    """The message is beyond one of the `[limits]`; the text says which and by how much."""


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body); a message without a blank line is all header."""
    match = BLANK_LINE.search(raw)
    if not match:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def header_count(head: bytes) -> int:
    return len(HEADER_START.findall(head))


def _content_type(head: bytes) -> tuple[str, str | None]:
    """(type/subtype, boundary) from one part's header block; text/plain when unreadable."""
    try:
        msg = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
        return msg.get_content_type(), msg.get_boundary()
    except Exception:  # a header the stdlib cannot read: treat as a leaf
        return "text/plain", None


def _is_base64(head: bytes) -> bool:
    return bool(re.search(rb"^content-transfer-encoding:\s*base64", head, re.I | re.M))


def _base64_size(body: bytes) -> int:
    """Decoded size of a base64 body, without decoding it (line breaks do not count)."""
    return (len(body) - body.count(b"\n") - body.count(b"\r") - body.count(b" ")) * 3 // 4


def _children(body: bytes, boundary: str) -> list[bytes]:
    """The parts between `--boundary` lines (preamble and epilogue dropped)."""
    marker = re.escape(b"--" + boundary.encode("latin-1", "replace"))
    pieces = re.split(rb"(?:^|\r?\n)" + marker + rb"(?:--)?[ \t]*(?=\r?\n|$)", body)
    return [p.lstrip(b"\r\n") for p in pieces[1:-1]] if len(pieces) > 2 else pieces[1:]


def check_limits(raw: bytes, limits: Limits) -> None:
    """Raise LimitExceeded when the message is beyond a limit; return None otherwise."""
    head, body = split_head(raw)
    if len(head) > limits.max_header_bytes:
        raise LimitExceeded(f"header block is {len(head)} bytes, limit {limits.max_header_bytes}")
    count = header_count(head)
    if count > limits.max_header_count:
        raise LimitExceeded(f"{count} header fields, limit {limits.max_header_count}")
    parts = 0
    stack: list[tuple[bytes, bytes, int]] = [(head, body, 1)]
    while stack:
        part_head, part_body, depth = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            raise LimitExceeded(f"more than {limits.max_parts} MIME parts")
        if depth > limits.max_mime_depth:
            raise LimitExceeded(f"MIME nesting deeper than {limits.max_mime_depth} levels")
        maybe_container = CONTAINER.search(part_head)
        ctype, boundary = _content_type(part_head) if maybe_container else ("", None)
        if ctype.startswith("multipart/") and boundary:
            for child in _children(part_body, boundary):
                stack.append((*split_head(child), depth + 1))
        elif ctype == "message/rfc822":
            stack.append((*split_head(part_body), depth + 1))
        else:
            size = _base64_size(part_body) if _is_base64(part_head) else len(part_body)
            if size > limits.max_attachment_bytes:
                ctype = ctype or _content_type(part_head)[0]
                raise LimitExceeded(
                    f"a {ctype} part of about {size} bytes, limit {limits.max_attachment_bytes}"
                )
