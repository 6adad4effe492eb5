"""The test Dovecot behaves like the servers the IMAP poller relies on."""

from __future__ import annotations

import threading
import time

import pytest
from imapclient.exceptions import LoginError

from tests.dovecot import Dovecot, sample_message


def test_login_and_append(dovecot: Dovecot) -> None:
    uids = dovecot.append("INBOX", sample_message(1), sample_message(2))
    assert uids == [1, 2]
    with dovecot.client() as imap:
        info = imap.select_folder("INBOX")
        assert info[b"EXISTS"] == 2
        assert imap.search("ALL") == [1, 2]


def test_wrong_password_is_refused(dovecot: Dovecot) -> None:
    with dovecot.client(login=False) as imap, pytest.raises(LoginError):
        imap.login(dovecot.user, "wrong")


def test_peek_does_not_set_seen(dovecot: Dovecot) -> None:
    raw = sample_message(1)
    (uid,) = dovecot.append("INBOX", raw)
    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        fetched = imap.fetch([uid], ["BODY.PEEK[]"])
        assert fetched[uid][b"BODY[]"] == raw
        assert b"\\Seen" not in imap.get_flags([uid])[uid]
        imap.fetch([uid], ["RFC822"])  # the non-peek form does mark it
        assert b"\\Seen" in imap.get_flags([uid])[uid]


def test_capabilities_for_poller_and_threading(dovecot: Dovecot) -> None:
    with dovecot.client() as imap:
        caps = set(imap.capabilities())
    assert {b"MOVE", b"UIDPLUS", b"IDLE", b"THREAD=REFERENCES", b"THREAD=REFS"} <= caps


def test_move_to_processed(dovecot: Dovecot) -> None:
    uids = dovecot.append("INBOX", *(sample_message(n) for n in range(3)))
    with dovecot.client() as imap:
        imap.create_folder("Processed")
        imap.select_folder("INBOX")
        imap.move(uids, "Processed")
        assert imap.search("ALL") == []
        assert imap.folder_status("Processed", [b"MESSAGES"])[b"MESSAGES"] == 3


def test_idle_reports_append_within_a_second(dovecot: Dovecot) -> None:
    with dovecot.client() as imap:
        imap.select_folder("INBOX")
        imap.idle()
        appended_at: list[float] = []

        def deliver() -> None:
            time.sleep(0.2)
            appended_at.append(time.monotonic())
            dovecot.append("INBOX", sample_message(1))

        thread = threading.Thread(target=deliver)
        thread.start()
        responses = imap.idle_check(timeout=3)
        seen_at = time.monotonic()
        imap.idle_done()
        thread.join()
    assert (1, b"EXISTS") in responses
    assert seen_at - appended_at[0] < 1.0


def test_imaps_with_self_signed_certificate(dovecot: Dovecot) -> None:
    dovecot.append("INBOX", sample_message(1))
    with dovecot.client(tls=True) as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 1


def test_starttls_on_plain_port(dovecot: Dovecot) -> None:
    import ssl

    with dovecot.client(login=False) as imap:
        assert b"STARTTLS" in imap.capabilities()
        imap.starttls(ssl.create_default_context(cafile=str(dovecot.cafile)))
        imap.login(dovecot.user, dovecot.password)


def test_xoauth2_bearer_token(dovecot: Dovecot) -> None:
    with dovecot.client(login=False) as imap:
        imap.oauth2_login(dovecot.user, dovecot.oauth_token)
        imap.select_folder("INBOX")
    with dovecot.client(login=False) as imap, pytest.raises(LoginError):
        imap.oauth2_login(dovecot.user, "not-the-token")


def test_restart_keeps_ports_and_mail(dovecot: Dovecot) -> None:
    dovecot.append("INBOX", sample_message(1))
    ports = (dovecot.imap_port, dovecot.imaps_port)
    dovecot.restart()
    assert (dovecot.imap_port, dovecot.imaps_port) == ports
    with dovecot.client() as imap:
        assert imap.select_folder("INBOX")[b"EXISTS"] == 1


def test_recreated_folder_has_new_uidvalidity(dovecot: Dovecot) -> None:
    dovecot.append("Archive", sample_message(1))
    with dovecot.client() as imap:
        before = imap.select_folder("Archive")[b"UIDVALIDITY"]
        imap.unselect_folder()
        imap.delete_folder("Archive")
    dovecot.append("Archive", sample_message(1))
    with dovecot.client() as imap:
        assert imap.select_folder("Archive")[b"UIDVALIDITY"] != before


def test_second_user_has_own_mailbox(dovecot: Dovecot) -> None:
    dovecot.add_user("bob", "hunter2")
    with dovecot.client(login=False) as imap:
        imap.login("bob", "hunter2")
        assert imap.select_folder("INBOX")[b"EXISTS"] == 0


def test_start_is_fast(dovecot: Dovecot) -> None:
    dovecot.stop()
    began = time.monotonic()
    dovecot.start()
    assert time.monotonic() - began < 1.0
