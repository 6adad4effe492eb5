"""The wire bytes of a plain-text answer, written directly: the same bytes as
`compose.build` then `outbox.as_wire_bytes`, without an EmailMessage.

Building an EmailMessage parses every header into a header object (~0.15 ms each) and
folds it again on output. An answer's headers are nearly all short printable ASCII, which
the email package writes back unchanged, so those are written as they are; any other
header (non-ASCII, long, an encoded-word look-alike, a display name) is folded by the
email package's own policy, once per distinct value (From and X-Loop never change). The body
is encoded by the email package's own chooser. Not a plain-text answer to bare addr-specs:
None, and the caller builds the message the long way.
`tests/spine/test_wire.py` compares both ways byte for byte.
"""

from __future__ import annotations

import email.contentmanager
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mailbot.compose import header_safe

MAX_LINE = 78  # email.policy.default / SMTP: max_line_length
POLICIES = {"smtp": email.policy.SMTP, "smtputf8": email.policy.SMTPUTF8}
# Written as they are: printable ASCII words separated by single spaces, no encoded-word.
PLAIN = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*\Z")
# Headers the email package parses as structure (addresses, message ids): written as they
# are only when made of atoms, dots, @, <> and commas, whose parse gives the text back.
STRUCTURED = frozenset({"from", "to", "cc", "reply-to", "sender", "message-id"})
ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@<>-]+"
ATOMS = re.compile(rf"{ATOM}(?:, {ATOM})*\Z")
# A bare addr-spec (UTF-8 allowed, RFC 6532): its parsed addr_spec is the text itself.
ADDR_CHAR = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\s])"
ADDR_SPEC = re.compile(rf"{ADDR_CHAR}+(?:\.{ADDR_CHAR}+)*@{ADDR_CHAR}+(?:\.{ADDR_CHAR}+)*\Z")
# email.contentmanager's chooser of a text part's encoding (private, hence the getattr).
ENCODE_TEXT = getattr(email.contentmanager, "_encode_text", None)
NEWLINE = re.compile(r"\r\n|\r|\n")  # email.generator.NLCRE
MIME_HEADERS = (("Content-Type", 'text/plain; charset="utf-8"'),)


@dataclass(frozen=True)
class Wire:
    """What the outbox needs of an answer: its envelope recipients, Message-ID, bytes."""

    recipients: list[str]
    message_id: str
    raw: bytes


@lru_cache(maxsize=512)
def _folded(name: str, value: str, policy: str) -> str:
    """The email package's own folding (RFC 2047 under SMTP, raw UTF-8 under SMTPUTF8)."""
    chosen = POLICIES[policy]
    return str(chosen.header_factory(name, value).fold(policy=chosen))


def _line(name: str, value: str, policy: str) -> str:
    if (
        len(name) + 2 + len(value) <= MAX_LINE
        and PLAIN.match(value)
        and "=?" not in value
        and (name.lower() not in STRUCTURED or ATOMS.match(value))
    ):
        return f"{name}: {value}\r\n"
    return _folded(name, value, policy)


def _head(headers: Sequence[tuple[str, str]], policy: str) -> bytes | None:
    """The header block, or None when a header needs UTF-8 and the policy is SMTP."""
    text = "".join(_line(name, value, policy) for name, value in headers)
    if policy == "smtp" and not text.isascii():
        return None  # as_wire_bytes: UnicodeEncodeError under SMTP -> SMTPUTF8
    return text.encode("utf-8")


def _body(body: str) -> tuple[str, bytes] | None:
    """(Content-Transfer-Encoding, CRLF bytes) exactly as `set_content` encodes the text:
    its own chooser (7bit, 8bit, quoted-printable or base64), then the generator's line
    endings. None if this Python's email package has no such function (the long way)."""
    if ENCODE_TEXT is None:
        return None
    cte, data = ENCODE_TEXT(body, "utf-8", None, email.policy.default)
    lines = NEWLINE.split(data)
    text = "".join(line + "\r\n" for line in lines[:-1]) + lines[-1]
    return str(cte), text.encode("ascii", "surrogateescape")


def plain_wire(
    *, headers: Sequence[tuple[str, str]], body: str, lang: str, to: Sequence[str]
) -> Wire | None:
    """The bytes of a text/plain answer with `headers` (compose.answer_headers), or None
    outside the plain case (the caller then builds and serialises an EmailMessage)."""
    recipients = [header_safe(a) for a in to]
    encoded = _body(body)
    if encoded is None or not all(ADDR_SPEC.match(a) for a in recipients):
        return None
    cte, data = encoded
    mime = [*MIME_HEADERS, ("Content-Transfer-Encoding", cte), ("MIME-Version", "1.0")]
    every = [*headers, *mime, ("Content-Language", lang)]
    head = _head(every, "smtp") if all(a.isascii() for a in recipients) else None
    head = head or _head(every, "smtputf8")
    assert head is not None
    message_id = next(value for name, value in headers if name == "Message-ID")
    return Wire(recipients=recipients, message_id=message_id.strip("<>"), raw=head + b"\r\n" + data)
