"""Read corpus mail into ThreadInput: mbox files (imaptest) and single files (notmuch).

Shared by the threading tests; the parsing here is the tests' own, small and
strict, so that a mismatch points at the threading code, not at a parser.
"""

from __future__ import annotations

import email.header
import email.message
import email.policy
import email.utils
import mailbox
import re
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path

from mailbot.threads import ThreadInput

_MSGID = re.compile(r"<([^<>\s]+)>")


def decode_subject(raw: str | None) -> str:
    """RFC 2047-decoded Subject ('' when absent), as a server compares it."""
    if raw is None:
        return ""
    return str(email.header.make_header(email.header.decode_header(str(raw))))


def message_ids(raw: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(str(raw))) if raw else ()


def thread_input(
    msg: email.message.Message, key: Hashable, *, fallback_date: datetime | None = None
) -> ThreadInput:
    """The threading facts of one message; the Date header, else ``fallback_date``."""
    ids = message_ids(msg.get("Message-ID"))
    in_reply_to = message_ids(msg.get("In-Reply-To"))
    date = fallback_date
    if msg.get("Date"):
        try:
            date = email.utils.parsedate_to_datetime(str(msg["Date"]))
        except (TypeError, ValueError):
            date = fallback_date
    return ThreadInput(
        key=key,
        message_id=ids[0] if ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=message_ids(msg.get("References")),
        subject=decode_subject(msg.get("Subject")),
        date=date,
    )


def from_line_date(from_line: str) -> datetime:
    """The internal date imaptest gives an appended message: its mbox From_ date."""
    # "user@domain  Fri Feb 22 17:06:23 2008 +0200" (the zone is optional)
    when = from_line.split(None, 1)[1].strip()
    for fmt in ("%a %b %d %H:%M:%S %Y %z", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(when, fmt)
        except ValueError:
            continue
    raise ValueError(f"unparsable From_ line {from_line!r}")


def read_mbox(path: Path) -> list[ThreadInput]:
    """Messages of an mbox, keyed by their 1-based position (IMAP sequence number)."""
    box = mailbox.mbox(path, create=False)
    try:
        return [
            thread_input(msg, n, fallback_date=from_line_date(msg.get_from()))
            for n, msg in enumerate(box, start=1)
        ]
    finally:
        box.close()


def read_file(path: Path, key: Hashable) -> ThreadInput:
    with path.open("rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    return thread_input(msg, key)


def corpus_path(*parts: str) -> Path:
    """A folder of ../shared/corpus (or $MAILBOT_CORPUS): skip if absent, fail in CI."""
    import os

    import pytest

    base = os.environ.get("MAILBOT_CORPUS")
    root = Path(base) if base else Path(__file__).resolve().parents[3] / "shared" / "corpus"
    path = root.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"corpus folder {path} is missing in CI")
        pytest.skip(f"corpus folder {path} is absent (set MAILBOT_CORPUS)")
    return path
