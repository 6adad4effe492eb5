"""`mailbot imap poll` as a process: one-line failures, and exactly-once through SIGKILLs."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.dovecot import Dovecot, free_port, sample_message
from tests.imap.helpers import CliRun, MakeApp, counts, folder_count, mailbot_cli
from tests.support import wait_for


def test_wrong_password_exits_non_zero_with_one_line(
    dovecot: Dovecot, database_url: str, tmp_path: Path
) -> None:
    url = dovecot.url(password="wrong")
    code, stdout, stderr = mailbot_cli(
        "imap", "poll", "--once", database_url=database_url, data_dir=tmp_path / "var",
        url=url, cafile=dovecot.cafile,
    ).finish()  # fmt: skip
    assert code == 1
    assert "Traceback" not in stderr + stdout
    reasons = [line for line in stderr.splitlines() if line.startswith("imap:")]
    assert len(reasons) == 1, stderr
    assert "login as alice" in reasons[0] and "refused" in reasons[0]
    assert "wrong" not in stderr  # the password is never printed


def test_unreachable_server_exits_non_zero_with_one_line(
    database_url: str, tmp_path: Path, dovecot: Dovecot
) -> None:
    url = f"imaps://alice:secret@127.0.0.1:{free_port()}/INBOX"
    code, stdout, stderr = mailbot_cli(
        "imap", "poll", "--once", database_url=database_url, data_dir=tmp_path / "var",
        url=url, cafile=dovecot.cafile,
    ).finish()  # fmt: skip
    assert code == 1
    assert "Traceback" not in stderr + stdout
    assert [line for line in stderr.splitlines() if line.startswith("imap:")] == [
        line for line in stderr.splitlines() if "cannot connect" in line
    ]
    assert "Connection refused" in stderr


def test_poll_forever_stops_cleanly_on_sigterm(
    dovecot: Dovecot, imap_app: MakeApp, database_url: str, tmp_path: Path
) -> None:
    app = imap_app()
    run = mailbot_cli(
        "imap", "poll", database_url=database_url, data_dir=tmp_path / "var",
        url=dovecot.url(), cafile=dovecot.cafile,
    )  # fmt: skip
    dovecot.append("INBOX", sample_message(1))
    assert wait_for(lambda: counts(app)["acks"] == 1, timeout=30)
    run.process.send_signal(signal.SIGTERM)
    code, _, stderr = run.finish(timeout=15)
    assert code == 0, stderr
    assert "waiting with IDLE" in stderr and "stopped" in stderr


@pytest.mark.slow
def test_sigkill_mid_folder_then_restart_files_every_message_exactly_once(
    dovecot: Dovecot, imap_app: MakeApp, database_url: str, tmp_path: Path
) -> None:
    total = 2000
    app = imap_app()  # migrates the schema before the pollers start
    # One sender each: acknowledgements are rate-limited per recipient (issue 7).
    dovecot.append("INBOX", *(sample_message(n, sender=f"p{n}@example.org") for n in range(total)))

    def poller() -> CliRun:
        return mailbot_cli(
            "imap", "poll", "--once", database_url=database_url, data_dir=tmp_path / "var",
            url=dovecot.url(), cafile=dovecot.cafile, MAILBOT_IMAP__BATCH_SIZE="50",
        )  # fmt: skip

    killed_at = []
    for threshold in (300, 1100):  # two kills at different depths of the folder
        run = poller()
        reached = wait_for(lambda t=threshold: counts(app)["raw"] >= t, timeout=120, interval=0.01)
        run.kill()
        assert reached, run.finish()
        killed_at.append(counts(app))
    assert all(c["raw"] < total for c in killed_at), killed_at  # killed mid-way, really

    code, _, stderr = poller().finish(timeout=300)

    assert code == 0, stderr
    assert counts(app) == dict.fromkeys(
        ("raw", "contributions", "distinct_raw", "acks", "distinct_acks"), total
    ), killed_at
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == total
