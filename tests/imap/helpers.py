"""Helpers of the IMAP tests: counting what the bot made, running `mailbot` as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from mailbot.app import App
from mailbot.config import PROJECT_DIR
from mailbot.db import session_scope
from mailbot.models import Contribution, OutboxMessage, RawMessage
from tests.dovecot import Dovecot

MakeApp = Callable[..., App]  # the imap_app fixture: make(url=None, **imap_options) -> App


def counts(app: App) -> dict[str, int]:
    """Rows that must each appear once per message: raw, contribution, acknowledgement."""
    with session_scope(app.engine) as session:

        def count(query: Any) -> int:
            return int(session.exec(query).one())

        return {
            "raw": count(select(func.count()).select_from(RawMessage)),
            "contributions": count(select(func.count()).select_from(Contribution)),
            "distinct_raw": count(select(func.count(func.distinct(Contribution.raw_id)))),
            "acks": count(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "ack")
            ),
            "distinct_acks": count(
                select(func.count(func.distinct(OutboxMessage.contribution_id))).where(
                    OutboxMessage.kind == "ack"
                )
            ),
        }


def folder_count(server: Dovecot, folder: str) -> int:
    with server.client() as imap:
        if not imap.folder_exists(folder):
            return 0
        return int(imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])


@dataclass
class CliRun:
    """A `mailbot` process; its output goes to files, since a full pipe would block it."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        code = self.process.wait(timeout)
        return code, self.stdout.read_text(), self.stderr.read_text()


def mailbot_cli(
    *args: str, database_url: str, data_dir: Path, url: str, cafile: Path, **env: str
) -> CliRun:
    """`mailbot ARGS` in its own process, configured like a deployment: MAILBOT_* variables."""
    environ = {
        **os.environ,
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(data_dir),
        "MAILBOT_IMAP_URL": url,
        "MAILBOT_IMAP__CAFILE": str(cafile),
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    out_path, err_path = data_dir / f"{name}.out", data_dir / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("mailbot")), *args],
            env=environ, stdout=out, stderr=err,
        )  # fmt: skip
    return CliRun(process, out_path, err_path)
