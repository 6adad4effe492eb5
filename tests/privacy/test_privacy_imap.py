"""An erased contribution's copy in the IMAP `Processed` folder is expunged when the
erasure is followed up (`mailbot privacy purge`), on a real Dovecot."""

from __future__ import annotations

from sqlalchemy import update

from mailbot.db import session_scope
from mailbot.imap.config import imap_accounts
from mailbot.imap.poller import Poller
from mailbot.models import OutboxMessage
from mailbot.moderation.tokens import TOKEN_RE
from mailbot.privacy.cli import purge
from tests.commands.commands_support import COMMANDS, ingest, mail, outbox
from tests.dovecot import Dovecot, sample_message
from tests.imap.conftest import imap_app  # noqa: F401  (the fixture)
from tests.imap.helpers import MakeApp, folder_count

GONE = "gone@example.net"


def test_erasure_expunges_the_processed_copy(dovecot: Dovecot, imap_app: MakeApp) -> None:  # noqa: F811
    app = imap_app()
    dovecot.append(
        "INBOX",
        sample_message(1, sender=f"Gone Person <{GONE}>", body="Please erase me later.\n"),
        sample_message(2, sender="stays@example.org", body="I stay.\n"),
    )
    (account,) = imap_accounts(app.settings)
    assert Poller(app=app, account=account, process=True).poll_once().stored == 2
    assert folder_count(dovecot, "Processed") == 2

    ingest(app, mail(sender=GONE, to=COMMANDS, subject="ERASE WGIG-0001", body=""))
    token = TOKEN_RE.search(str(outbox(app, "confirm")[-1]["Subject"]))
    assert token
    ingest(app, mail(sender=GONE, to=COMMANDS, subject=f"CONFIRM {token.group(0)}", body=""))
    # Mail to the address is still queued: the erasure waits for it to go.
    assert purge(app=app, compact=False)["erasures_completed"] == 0
    assert folder_count(dovecot, "Processed") == 2
    with session_scope(app.engine) as session:  # the sender delivered everything
        session.execute(update(OutboxMessage).values(status="sent"))
    assert purge(app=app, compact=False)["erasures_completed"] == 1
    assert folder_count(dovecot, "Processed") == 1
    with dovecot.client() as imap:
        imap.select_folder("Processed")
        (uid,) = imap.search(["ALL"])
        data = imap.fetch([uid], ["RFC822"])[uid][b"RFC822"]
    assert b"stays@example.org" in data and GONE.encode() not in data
