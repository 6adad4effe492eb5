"""`mailbot digest send --now|preview` and `mailbot schedule list` (real clock, real database)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mailbot.cli import cli
from mailbot.config import PROJECT_DIR


def run(database_url: str, data_dir: Path, *args: str) -> str:
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(data_dir),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_digest_send_now_then_schedule_list_and_preview(database_url: str, tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert "issue 1" in run(database_url, var, "digest", "send", "--now")
    assert "nothing to send" in run(database_url, var, "digest", "send", "--now")
    rows = [
        json.loads(line)
        for line in run(database_url, var, "schedule", "list", "--json").splitlines()
    ]
    by_job = {row["job"]: row for row in rows}
    assert set(by_job) == {"digest", "reminders", "calendar-sync", "raw-purge", "erasure-follow-up"}
    assert by_job["digest"]["last_sent"]  # next_due depends on today's date: not asserted
    preview = run(database_url, var, "digest", "preview")
    assert preview.startswith("Subject: [WGIG] Digest, Vol 1, Issue 2")
    assert '<html lang="fr">' in run(
        database_url, var, "digest", "preview", "--html", "--lang", "fr"
    )
    outbox = json.loads(run(database_url, var, "outbox", "list", "--json").splitlines()[0])
    assert outbox["kind"] == "digest" and outbox["to"] == "caucus@lists.example.org"
