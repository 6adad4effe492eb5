"""A real GNU Mailman 3 list in front of the bot (issue 18).

Mailman 3.3.10 lives in its own virtualenv (it pins SQLAlchemy < 2.1):

    python3 -m venv /opt/mm && /opt/mm/bin/pip install mailman==3.3.10 'sqlalchemy<2.1'
    MAILBOT_MAILMAN_VENV=/opt/mm .venv/bin/pytest tests/conversation/test_conversation_mailman.py

The list `caucus@lists.example.org` has the consultation address as a member; posts are
injected into Mailman and its runners (in, pipeline, out) deliver them by SMTP to the bot.
Without MAILBOT_MAILMAN_VENV the test is skipped, saying so (it fails in CI).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.models import Contribution, Participant, RawMessage
from tests.conversation.conversation_support import CAUCUS, Conversation, message
from tests.conversation.test_conversation_e2e import talk  # noqa: F401  (the fixture)
from tests.support import wait_for

VENV = os.environ.get("MAILBOT_MAILMAN_VENV", "")
SETUP = """from mailman.config import config
from mailman.interfaces.action import Action


def accept(mlist):
    mlist.default_nonmember_action = Action.accept
    config.db.commit()


def munge(mlist):
    # What a list does for a poster whose domain publishes p=reject (DMARC): From becomes
    # "Ana Silva via Caucus <caucus@...>", the poster moves to Reply-To.
    from mailman.interfaces.mailinglist import DMARCMitigateAction

    mlist.dmarc_mitigate_action = DMARCMitigateAction.munge_from
    mlist.dmarc_mitigate_unconditionally = True
    config.db.commit()
"""


class Mailman:
    def __init__(self, root: Path, smtp_port: int) -> None:
        self.root = root
        self.cfg = root / "mailman.cfg"
        self.cfg.write_text(
            "[mailman]\nsite_owner: admin@lists.example.org\nlayout: here\n"
            f"[paths.here]\nvar_dir: {root / 'var'}\n"
            "[database]\nclass: mailman.database.sqlite.SQLiteDatabase\n"
            f"url: sqlite:///{root / 'var' / 'mailman.db'}\n"
            "[mta]\nincoming: mailman.mta.null.NullMTA\nsmtp_host: 127.0.0.1\n"
            f"smtp_port: {smtp_port}\n[webservice]\nport: 0\n"
        )
        (root / "c18setup.py").write_text(SETUP)

    def run(self, tool: str, *args: str) -> str:
        done = subprocess.run(
            [f"{VENV}/bin/{tool}", "-C", str(self.cfg), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(self.root)},
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def mailman(self, *args: str) -> str:
        return self.run("mailman", "--run-as-root", *args)

    def post(self, raw: bytes, name: str) -> None:
        path = self.root / name
        path.write_bytes(raw)
        self.mailman("inject", "-f", str(path), CAUCUS)

    def deliver(self) -> None:
        """Each runner once per queued message (`-o` handles one), in the road's order."""
        for runner in ("in", "pipeline", "out"):
            queue = self.root / "var" / "queue" / runner
            for _ in range(20):
                if not list(queue.glob("*.pck")):
                    break
                self.run("runner", "-r", runner, "-o")


def delivered(conversation: Conversation, *, count: int) -> dict[str | None, RawMessage]:
    """The stored messages by Message-ID, once `count` arrived and every one was processed."""
    rows: dict[str | None, RawMessage] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with Session(conversation.app.engine) as s:
            rows = {r.message_id: r for r in s.exec(select(RawMessage))}
        if len(rows) == count and all(r.state != "new" for r in rows.values()):
            break
        time.sleep(0.2)
    return rows


@pytest.fixture
def mailman(tmp_path: Path, talk: Conversation) -> Mailman:  # noqa: F811
    if not VENV:
        if os.environ.get("CI"):
            pytest.fail("MAILBOT_MAILMAN_VENV is not set in CI")
        pytest.skip("set MAILBOT_MAILMAN_VENV to a virtualenv with mailman 3.3.10")
    root = tmp_path / "mailman"
    root.mkdir()
    mm = Mailman(root, talk.bot.port)
    mm.mailman("create", "--quiet", CAUCUS)
    (root / "members.txt").write_text("contrib@consult.example.org\n")
    mm.mailman("addmembers", str(root / "members.txt"), CAUCUS)
    mm.mailman("shell", "-l", CAUCUS, "-r", "c18setup.accept")
    return mm


def test_a_real_mailman_list_delivers_people_and_keeps_our_own_mail_out(
    talk: Conversation,  # noqa: F811
    mailman: Mailman,
) -> None:
    mailman.post(
        message(
            sender="Ana Silva <ana@example.org>",
            to=CAUCUS,
            mid="mm-1@example.org",
            subject="Transparency of the working group",
            body="All documents of the working group should be public, drafts included.",
        ),
        "ana.eml",
    )
    mailman.post(
        message(
            sender="Consultation <contrib@consult.example.org>",
            to=CAUCUS,
            mid="mailbot.0123456789abcdef01234567@consult.example.org",
            subject="Digest of contributions",
            body="1. WGIG-0001 Transparency\nSend GET WGIG-0001 for the text.",
            headers={"Auto-Submitted": "auto-generated"},
        ),
        "digest.eml",
    )
    mailman.post(
        message(
            sender="Kofi <kofi@example.gh>",
            to=CAUCUS,
            mid="mm-2@example.gh",
            subject="Out of office: back on Monday",
            body="I am away until Monday.",
        ),
        "ooo.eml",
    )
    mailman.deliver()
    rows = delivered(talk, count=3)
    assert rows["mm-1@example.org"].outcome == "contribution"
    assert rows["mailbot.0123456789abcdef01234567@consult.example.org"].outcome == "loop"
    assert rows["mm-2@example.gh"].outcome == "autoreply"
    with Session(talk.app.engine) as s:
        (copy,) = s.exec(select(Contribution)).all()
    assert copy.via_list == "caucus.lists.example.org"
    assert talk.relay.messages == []  # nothing answered on the list or to Ana


@pytest.mark.consultation(acknowledge_list_copies=True)
def test_a_list_that_rewrites_from_for_dmarc_gives_the_author_back(
    talk: Conversation,  # noqa: F811
    mailman: Mailman,
) -> None:
    mailman.mailman("shell", "-l", CAUCUS, "-r", "c18setup.munge")
    mailman.post(
        message(
            sender="Ana Silva <ana@example.org>",
            to=CAUCUS,
            mid="mm-dmarc@example.org",
            subject="Seats for the technical community",
            body="The technical community should have four seats, chosen by its own bodies.",
        ),
        "ana.eml",
    )
    mailman.post(
        message(
            sender="Consultation <contrib@consult.example.org>",
            to=CAUCUS,
            mid="mailbot.00112233445566778899aabb@consult.example.org",
            subject="Digest of contributions",
            body="1. WGIG-0001 Seats\nSend GET WGIG-0001 for the text.",
        ),
        "digest.eml",
    )
    mailman.deliver()
    rows = delivered(talk, count=2)
    ana = rows["mm-dmarc@example.org"]
    assert b"via Caucus" in ana.raw or b"via caucus" in ana.raw.lower()  # the list did munge
    assert ana.outcome == "contribution"
    assert "From rewritten by the list" in (ana.reason or ""), ana.reason
    # Our own digest, munged on its way back, is still our own mail.
    assert rows["mailbot.00112233445566778899aabb@consult.example.org"].outcome == "loop"
    with Session(talk.app.engine) as s:
        (copy,) = s.exec(select(Contribution)).all()
        author = s.get(Participant, copy.participant_id)
    assert copy.via_list == "caucus.lists.example.org"
    assert author is not None and author.email == "ana@example.org"
    assert copy.author_name == "Ana Silva"
    assert wait_for(lambda: talk.mails_to("ana@example.org"), timeout=30)
    assert not talk.mails_to(CAUCUS)  # the receipt goes to Ana alone, never to the list
