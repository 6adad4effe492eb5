"""The command line: config check, ingest --json/--mbox, list commands, --help everywhere."""

from __future__ import annotations

import json
import mailbox
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from mailbot.cli import cli
from mailbot.config import PROJECT_DIR

runner = CliRunner()

MAIL = (
    "From: Kofi <kofi@example.gh>\nTo: contrib@consult.example.org\n"
    "Subject: [working-methods] Open sessions\nMessage-ID: <gh-{n}@example.gh>\n\n"
    "All sessions of the working group should be open to observers, number {n}.\n"
)


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
    }


def jsonl(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_ingest_json_files_and_duplicates(env: dict[str, str], tmp_path: Path) -> None:
    first, second = tmp_path / "1.eml", tmp_path / "2.eml"
    first.write_text(MAIL.format(n=1))
    second.write_text(MAIL.format(n=2))
    result = runner.invoke(cli, ["ingest", "--json", str(first), str(second), str(first)], env=env)
    assert result.exit_code == 0, result.output
    rows = jsonl(result.stdout)
    assert [r["outcome"] for r in rows] == ["contribution", "contribution", "duplicate"]
    assert [r["ref"] for r in rows[:2]] == ["WGIG-0001", "WGIG-0002"]
    assert rows[0]["topic"] == "working-methods" and rows[0]["message_id"] == "gh-1@example.gh"
    assert set(rows[0]) == {"message_id", "outcome", "ref", "topic", "reason"}

    listed = runner.invoke(cli, ["contributions", "list", "--json"], env=env)
    assert [r["ref"] for r in jsonl(listed.stdout)] == ["WGIG-0001", "WGIG-0002"]
    outbox = runner.invoke(cli, ["outbox", "list", "--json"], env=env)
    assert [(r["kind"], r["status"]) for r in jsonl(outbox.stdout)] == [("ack", "pending")] * 2


def test_ingest_stdin_and_mbox(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(cli, ["ingest", "--json", "-"], input=MAIL.format(n=5), env=env)
    assert jsonl(result.stdout)[0]["outcome"] == "contribution"
    box = mailbox.mbox(tmp_path / "in.mbox")
    for n in (6, 7, 8):
        box.add(MAIL.format(n=n))
    box.flush()
    result = runner.invoke(cli, ["ingest", "--json", "--mbox", str(tmp_path / "in.mbox")], env=env)
    assert [r["ref"] for r in jsonl(result.stdout)] == ["WGIG-0002", "WGIG-0003", "WGIG-0004"]
    # A bulk import is filed but not acknowledged; the stdin message was.
    outbox = runner.invoke(cli, ["outbox", "list", "--json"], env=env)
    assert [r["kind"] for r in jsonl(outbox.stdout)] == ["ack"]


def test_config_check_reports_file_and_key(env: dict[str, str], tmp_path: Path) -> None:
    ok = runner.invoke(cli, ["config", "check"], env={**env, "MAILBOT_SECRET": "x" * 32})
    assert ok.exit_code == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    text = (PROJECT_DIR / "config" / "mailbot.toml").read_text()
    bad.write_text(
        text.replace('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"').replace(
            'address = "contrib@consult.example.org"', 'address = "not an address"'
        )
    )
    result = runner.invoke(cli, ["config", "check"], env={**env, "MAILBOT_CONFIG": str(bad)})
    assert result.exit_code == 1
    # Each error names the file line it came from.
    lines = bad.read_text().splitlines()
    zone = lines.index('timezone = "Mars/Olympus"') + 1
    address = lines.index('address = "not an address"') + 1
    assert f"{bad} line {zone}: consultation.timezone:" in result.stderr
    assert f"{bad} line {address}: consultation.address:" in result.stderr
    # An environment override is validated like the file, and blamed, not the file.
    result = runner.invoke(cli, ["config", "check"], env={**env, "MAILBOT_LISTEN": "nowhere"})
    assert result.exit_code == 1
    assert "environment variable MAILBOT_LISTEN: server.listen" in result.stderr
    zone_env = {**env, "MAILBOT_CONSULTATION__TIMEZONE": "Mars/Olympus"}
    result = runner.invoke(cli, ["config", "check"], env=zone_env)
    assert "environment variable MAILBOT_CONSULTATION__TIMEZONE: consultation.timezone" in (
        result.stderr
    )
    assert "mailbot.toml" not in result.stderr


def test_environment_overrides_the_file(env: dict[str, str]) -> None:
    from mailbot.config import load_settings

    settings = load_settings(
        environ={
            **env,
            "MAILBOT_LISTEN": "0.0.0.0:2525",
            "MAILBOT_RELAY": "smtps://u:p@mx:465",
            "MAILBOT_CONSULTATION__TIMEZONE": "America/Bogota",
        }
    )
    assert settings.server.host_port == ("0.0.0.0", 2525)
    assert settings.server.relay == "smtps://u:p@mx:465"
    assert settings.consultation.timezone == "America/Bogota"
    assert str(settings.server.data_dir).endswith("var")


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    yield prefix
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*prefix, name))


def test_every_command_has_help() -> None:
    paths = list(_commands(get_command(cli)))
    assert ("run",) in paths and ("ingest",) in paths and ("db", "upgrade") in paths
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output
