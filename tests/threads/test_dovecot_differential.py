"""Our threading against a real Dovecot: THREAD=REFERENCES vs rfc5256, THREAD=REFS vs references.

The generated mailbox (2,400 messages) arrives shuffled, with References
stripped or truncated and "Re:"/"AW:" subjects; Dovecot numbers messages by
APPEND order and sorts by the Date header, so we give ``thread()`` the same
order and dates. The imaptest mboxes are replayed whole as well, their From_
dates as internal dates, to check the corpus answers' message counts.
"""

from __future__ import annotations

import os
import random
import shutil
from datetime import UTC
from email.utils import format_datetime

import pytest
from imapclient import IMAPClient
from imapclient.response_parser import parse_response

from mailbot.threads import Mode, ThreadInput, format_imap_thread, thread
from tests.dovecot import Dovecot
from tests.threads.corpus_mail import corpus_path, from_line_date, read_mbox
from tests.threads.generate import Generated, conversations

pytestmark = pytest.mark.skipif(
    shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"),
    reason="needs the Debian package dovecot-imapd",
)


def _raw(g: Generated) -> bytes:
    headers = [
        "From: participant@example.org",
        "To: consultation@example.org",
        f"Subject: {g.subject}",
        f"Date: {format_datetime(g.date)}",
        f"Message-ID: <{g.message_id}>",
    ]
    if g.in_reply_to:
        headers.append(f"In-Reply-To: <{g.in_reply_to}>")
    if g.references:
        headers.append("References: " + " ".join(f"<{r}>" for r in g.references))
    return ("\r\n".join(headers) + "\r\n\r\nA contribution.\r\n").encode()


def _server_thread(imap: IMAPClient, algorithm: str) -> object:
    return imap.thread(algorithm=algorithm, criteria="ALL", charset="US-ASCII")


def _ours(messages: list[ThreadInput], mode: Mode) -> object:
    # Parse our answer with imapclient's own parser, so both sides compare as
    # the same nested tuples.
    return parse_response([format_imap_thread(thread(messages, mode=mode)).encode()])


def test_generated_mailbox_matches_dovecot(dovecot: Dovecot) -> None:
    generated = conversations(2400, seed=11, strip=0.08, truncate=0.15, irt_only=0.05)
    rng = random.Random(5)
    rng.shuffle(generated)  # arrival order is not date order
    # A few parents never arrive: their replies hang under ghosts.
    arrived = [g for g in generated if rng.random() > 0.02]
    assert len(arrived) >= 2000
    dovecot.append("Generated", *(_raw(g) for g in arrived))
    messages = [g.thread_input(seq) for seq, g in enumerate(arrived, start=1)]
    with dovecot.client() as imap:
        imap.select_folder("Generated", readonly=True)
        assert _server_thread(imap, "REFERENCES") == _ours(messages, "rfc5256")
        assert _server_thread(imap, "REFS") == _ours(messages, "references")


IMAPTEST = [
    "thread.mbox",
    "thread-orderedsubject.mbox",
    "thread-orderedsubject2.mbox",
    *(f"thread{n}.mbox" for n in range(2, 9)),
]


@pytest.mark.parametrize("name", IMAPTEST)
def test_imaptest_mboxes_match_dovecot(dovecot: Dovecot, name: str) -> None:
    """Every imaptest mbox, all its messages: REFERENCES, REFS and ORDEREDSUBJECT."""
    path = corpus_path("dovecot-imaptest", "src", "tests", name)
    messages = read_mbox(path)
    raws = path.read_bytes().split(b"\nFrom ")
    assert len(raws) == len(messages)
    with dovecot.client() as imap:
        imap.create_folder("T")
        for raw in raws:
            from_line, body = raw.removeprefix(b"From ").split(b"\n", 1)
            # imaptest's internal date is the From_ date (a naive one is UTC
            # for read_mbox, so say so to imapclient, which assumes local time).
            internal = from_line_date(from_line.decode())
            if internal.tzinfo is None:
                internal = internal.replace(tzinfo=UTC)
            imap.append("T", body.replace(b"\n", b"\r\n"), msg_time=internal)
        imap.select_folder("T", readonly=True)
        assert _server_thread(imap, "REFERENCES") == _ours(messages, "rfc5256")
        assert _server_thread(imap, "REFS") == _ours(messages, "references")
        assert _server_thread(imap, "ORDEREDSUBJECT") == _ours(messages, "orderedsubject")
