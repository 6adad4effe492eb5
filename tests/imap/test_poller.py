"""The IMAP poller against a real Dovecot: mail in the folder becomes contributions, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.imap.config import imap_accounts
from mailbot.imap.mailbox import ImapFailure
from mailbot.imap.poller import Poller, load_position, save_position
from mailbot.receive import RawIn, store_raw_batch
from tests.dovecot import Dovecot, sample_message
from tests.imap.helpers import MakeApp, counts, folder_count


def poller(app: object, **kwargs: object) -> Poller:
    from mailbot.app import App

    assert isinstance(app, App)
    (account,) = imap_accounts(app.settings)
    return Poller(app=app, account=account, process=True, **kwargs)  # type: ignore[arg-type]


def test_appended_mail_becomes_contributions_and_moves_to_processed(
    dovecot: Dovecot, imap_app: MakeApp
) -> None:
    app = imap_app(batch_size=2)
    dovecot.append("INBOX", *(sample_message(n) for n in range(5)))

    tally = poller(app).poll_once()

    assert (tally.stored, tally.duplicates) == (5, 0)
    assert counts(app) == dict.fromkeys(
        ("raw", "contributions", "distinct_raw", "acks", "distinct_acks"), 5
    )
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == 5
    position = load_position(app=app, account=imap_accounts(app.settings)[0])
    assert position is not None and position.last_uid == 5
    # Nothing new: a second pass stores nothing and files nothing.
    assert poller(app).poll_once().stored == 0
    assert counts(app)["contributions"] == 5


def test_processed_mail_is_byte_exact_and_unseen_until_settled(
    dovecot: Dovecot, imap_app: MakeApp
) -> None:
    app = imap_app(after="seen")
    raws = [sample_message(n) for n in range(3)]
    dovecot.append("INBOX", *raws)

    assert poller(app).poll_once().stored == 3

    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        flags = imap.get_flags(imap.search("ALL"))
    assert all(b"\\Seen" in f for f in flags.values())
    from sqlmodel import select

    from mailbot.db import session_scope
    from mailbot.models import RawMessage

    with session_scope(app.engine) as session:
        stored = [r.raw for r in session.exec(select(RawMessage).order_by(RawMessage.id))]  # type: ignore[arg-type]
    assert stored == raws
    # Seen mode keeps the messages; the position, not the flag, says what was taken, so a
    # human marking one unread does not make it a contribution again.
    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        imap.remove_flags([1], [b"\\Seen"])
    dovecot.append("INBOX", sample_message(99))
    assert poller(app).poll_once().stored == 1
    assert counts(app)["contributions"] == 4


def test_copy_expunge_fallback_without_move(dovecot: Dovecot, imap_app: MakeApp) -> None:
    # A server without MOVE (RFC 6851): COPY, then \Deleted and UID EXPUNGE of our UIDs.
    dovecot.reconfigure("imap_capability = IMAP4rev1 IDLE UIDPLUS MULTIAPPEND")
    app = imap_app()
    dovecot.append("INBOX", *(sample_message(n) for n in range(3)))
    with dovecot.client() as imap:
        assert b"MOVE" not in imap.capabilities()

    assert poller(app).poll_once().stored == 3

    assert folder_count(dovecot, "Processed") == 3
    assert folder_count(dovecot, "INBOX") == 0
    assert counts(app)["contributions"] == 3


def test_new_uidvalidity_rereads_without_duplicates(dovecot: Dovecot, imap_app: MakeApp) -> None:
    app = imap_app(url=dovecot.url(folder="Consultation"), after="seen")
    raws = [sample_message(n) for n in range(4)]
    dovecot.append("Consultation", *raws)
    assert poller(app).poll_once().stored == 4

    with dovecot.client() as imap:
        imap.delete_folder("Consultation")
    dovecot.append("Consultation", *raws, sample_message(4))

    tally = poller(app).poll_once()

    assert (tally.stored, tally.duplicates) == (1, 4)
    assert counts(app) == dict.fromkeys(
        ("raw", "contributions", "distinct_raw", "acks", "distinct_acks"), 5
    )


def test_stored_but_unsettled_messages_are_settled_at_next_start(
    dovecot: Dovecot, imap_app: MakeApp
) -> None:
    # What a crash between the commit and the MOVE leaves behind, made by hand.
    app = imap_app()
    raws = [sample_message(n) for n in range(3)]
    uids = dovecot.append("INBOX", *raws)
    store_raw_batch(app=app, items=[RawIn(raw=r, source="imap") for r in raws[:2]])
    with dovecot.client() as imap:
        uidvalidity = imap.select_folder("INBOX")[b"UIDVALIDITY"]
    account = imap_accounts(app.settings)[0]
    save_position(app=app, account=account, uidvalidity=uidvalidity, last_uid=uids[1])

    tally = poller(app).poll_once()

    assert (tally.stored, tally.duplicates) == (1, 0)
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == 3
    assert counts(app)["contributions"] == 3


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_tls_by_starttls_or_imaps(dovecot: Dovecot, imap_app: MakeApp, scheme: str) -> None:
    app = imap_app(url=dovecot.url(scheme))
    dovecot.append("INBOX", sample_message(1))
    assert poller(app).poll_once().stored == 1


def test_untrusted_certificate_is_refused(dovecot: Dovecot, imap_app: MakeApp) -> None:
    app = imap_app(url=dovecot.url("imaps"), cafile=None)
    with pytest.raises(ImapFailure, match="certificate"):
        poller(app).poll_once()


def test_xoauth2_bearer_token(dovecot: Dovecot, imap_app: MakeApp, tmp_path: Path) -> None:
    url = dovecot.url("imaps", password=dovecot.oauth_token) + "?auth=xoauth2"
    app = imap_app(url=url)
    dovecot.append("INBOX", sample_message(1))
    assert poller(app).poll_once().stored == 1
    # A token an external refresher keeps current, re-read at every login.
    token = tmp_path / "token"
    token.write_text(dovecot.oauth_token + "\n")
    url = f"imaps://{dovecot.user}@{dovecot.tls_host}:{dovecot.imaps_port}/INBOX"
    app = imap_app(url=f"{url}?auth=xoauth2&token_file={token}")
    dovecot.append("INBOX", sample_message(2))
    assert poller(app).poll_once().stored == 1
    token.write_text("expired")
    with pytest.raises(ImapFailure, match="refused"):
        poller(app).poll_once()


def test_missing_folder_is_a_clear_failure(dovecot: Dovecot, imap_app: MakeApp) -> None:
    app = imap_app(url=dovecot.url(folder="Nope"))
    with pytest.raises(ImapFailure, match="Nope"):
        poller(app).poll_once()


def test_backfill_reads_an_archive_without_touching_it(dovecot: Dovecot, imap_app: MakeApp) -> None:
    app = imap_app(url=dovecot.url(folder="Archive"))
    dovecot.append("Archive", *(sample_message(n) for n in range(7)))
    seen: list[tuple[int, int]] = []

    tally = poller(app, progress=lambda done, total: seen.append((done, total))).backfill()

    assert (tally.stored, seen[-1]) == (7, (7, 7))
    assert counts(app)["contributions"] == 7
    assert counts(app)["acks"] == 0  # an archive's authors wrote long ago: nobody is answered
    assert folder_count(dovecot, "Archive") == 7
    with dovecot.client() as imap:
        imap.select_folder("Archive")
        assert imap.search("SEEN") == []
    assert poller(app).backfill().duplicates == 7


def test_mail_arriving_during_the_search_is_taken_before_idle(
    dovecot: Dovecot, imap_app: MakeApp
) -> None:
    """A message appended while the poller searches may be left out of the SEARCH's answer
    and announced by an EXISTS beside it: IDLE would not say it again, so catch_up asks.
    (The delivery is real; its timing cannot be caught for real, so the first SEARCH answers
    as one run just before it, and the EXISTS goes where imaplib keeps such lines.)"""
    from mailbot.imap import mailbox

    app = imap_app()
    client = mailbox.connect(imap_accounts(app.settings)[0])
    real_search = client.search
    appended: list[int] = []

    def search(criteria: object) -> list[int]:
        if not appended:  # the first SEARCH: another client delivers just before it runs
            dovecot.append("INBOX", sample_message(1))
            appended.append(1)
            client._imap.untagged_responses.setdefault("EXISTS", []).append(b"1")
            return []  # what a SEARCH run just before the delivery saw
        return real_search(criteria)  # type: ignore[no-any-return]

    client.search = search  # type: ignore[method-assign]
    try:
        tally = poller(app).catch_up(client)
    finally:
        mailbox.logout(client)
    assert tally.stored == 1 and counts(app)["contributions"] == 1
