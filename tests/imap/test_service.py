"""The poller inside `mailbot run`: IDLE latency, reconnecting, retrying a refused login."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from mailbot.app import App
from tests.dovecot import Dovecot, sample_message
from tests.imap.helpers import MakeApp, counts, folder_count
from tests.support import wait_for

StartBot = Callable[[App], Any]


def contributions(app: App) -> int:
    return counts(app)["contributions"]


def test_message_appended_while_idling_is_processed_within_2_seconds(
    dovecot: Dovecot, imap_app: MakeApp, bot_factory: StartBot
) -> None:
    app = imap_app()
    dovecot.append("INBOX", sample_message(0))
    bot_factory(app)
    assert wait_for(lambda: contributions(app) == 1, timeout=10)
    time.sleep(0.5)  # the poller is back in IDLE

    appended = time.monotonic()
    dovecot.append("INBOX", sample_message(1))
    assert wait_for(lambda: contributions(app) == 2, timeout=5, interval=0.02)
    latency = time.monotonic() - appended

    assert latency < 2.0, f"processed {latency:.2f} s after the APPEND"
    assert wait_for(lambda: folder_count(dovecot, "Processed") == 2, timeout=2)
    assert counts(app)["acks"] == 2


def test_dovecot_restart_mid_run_reconnects_and_continues(
    dovecot: Dovecot, imap_app: MakeApp, bot_factory: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.imap")
    app = imap_app()
    bot_factory(app)
    dovecot.append("INBOX", sample_message(1))
    assert wait_for(lambda: contributions(app) == 1, timeout=10)

    dovecot.restart()
    dovecot.append("INBOX", sample_message(2))

    assert wait_for(lambda: contributions(app) == 2, timeout=15)
    assert wait_for(lambda: folder_count(dovecot, "Processed") == 2, timeout=5)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("mailbot.imap")]
    assert any("connection lost" in m for m in messages), messages
    assert sum("connected" in m and "lost" not in m for m in messages) >= 2, messages


def test_refused_login_in_run_is_retried_and_said(
    dovecot: Dovecot, imap_app: MakeApp, bot_factory: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailbot.imap")
    app = imap_app(url=dovecot.url(user="bob", password="later"))
    bot_factory(app)
    assert wait_for(lambda: any("refused" in r.getMessage() for r in caplog.records), timeout=10)
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refusals[0].levelno == logging.ERROR
    assert "retrying in" in refusals[0].getMessage()

    dovecot.add_user("bob", "later")  # the operator fixes the mailbox
    with dovecot.client(login=False) as imap:
        imap.login("bob", "later")
        imap.append("INBOX", sample_message(1))

    assert wait_for(lambda: contributions(app) == 1, timeout=15)
