"""Complaints are counted in STATS, and a provider's own format (JMRP) is a complaint."""

from __future__ import annotations

from pathlib import Path

from mailbot.clock import FrozenClock
from tests.commands.commands_support import CHAIR, COMMANDS, ingest, mail, moderated_app, outbox
from tests.support import corpus_dir

JMRP = """From: staff@hotmail.com
To: abuse@consult.example.org
Subject: complaint about message from 192.0.2.7
Message-ID: <jmrp-1@hotmail.com>
Content-Type: message/rfc822

X-HmXmrOriginalRecipient: <dora@hotmail.com>
From: Consultation <contrib@consult.example.org>
To: dora@hotmail.com
Subject: Digest of contributions

1. WGIG-0001 ...
"""


def test_complaints_are_counted_in_stats(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = moderated_app(
        database_url,
        tmp_path,
        clock,
        policy="post",
        trusted_authserv_ids=("mx.caucus.example.org",),
    )
    aol = (corpus_dir() / "flanker/tests/fixtures/messages/complaints/aol.eml").read_bytes()
    assert ingest(app, aol).outcome == "complaint"
    jmrp = ingest(app, JMRP.replace("\n", "\r\n").encode())
    assert jmrp.outcome == "complaint" and "dora@hotmail.com" in jmrp.reason
    dkim = {
        "Authentication-Results": "mx.caucus.example.org; dkim=pass header.d=caucus.example.org"
    }
    ingest(app, mail(sender=CHAIR, to=COMMANDS, subject="STATS", body="", headers=dkim))
    assert "complaints (feedback reports): 2" in outbox(app, "results")[-1].get_content()
    assert outbox(app, "ack") == []  # a complaint is never acknowledged
