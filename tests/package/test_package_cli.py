"""The CLI as an administrator meets it: hostile subjects printed literally, tables that keep
the reference and topic whole at 80 columns, TSV in a pipe, times with their offset, plain
flag help, the same database from any directory, `init`, and `run`'s refusals."""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import mailbot.cli_common
from mailbot.cli import cli, command
from mailbot.config import PROJECT_DIR, load_settings
from mailbot.postfix import snippets

runner = CliRunner()

HOSTILE = [
    "Budget [/b] and [link=x]click[/link]",
    "[composition] Seats",
    "Red \x1b[31malert\x1b[0m and \x1b]8;;http://evil\x07link\x1b]8;;\x07",
    "Invoice \u202egnp.exe\u202c and \u200fmark",
]


def mail(n: int, subject: str) -> str:
    return (
        f"From: H <h{n}@example.org>\nTo: contrib@consult.example.org\n"
        f"Subject: =?utf-8?b?{__import__('base64').b64encode(subject.encode()).decode()}?=\n"
        f"Message-ID: <h-{n}@example.org>\n\nA contribution of enough words to be filed, {n}.\n"
    )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
    }


@pytest.fixture
def filed(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    files = []
    for n, subject in enumerate(HOSTILE):
        path = tmp_path / f"{n}.eml"
        path.write_text(mail(n, subject))
        files.append(str(path))
    result = runner.invoke(cli, ["ingest", "--json", *files], env=env)
    assert result.exit_code == 0, result.output
    return env


def test_hostile_subjects_print_literally_in_tsv(filed: dict[str, str]) -> None:
    result = runner.invoke(cli, ["contributions", "list"], env=filed)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["ref", "topic", "status"]  # not a terminal: TSV
    subjects = [line.split("\t")[6] for line in lines[1:]]
    assert subjects[0] == "Budget [/b] and [link=x]click[/link]"
    assert subjects[1] == "[composition] Seats"
    assert "\x1b" not in result.stdout and "\\x1b[31malert" in subjects[2]
    assert "\u202e" not in result.stdout and "\\u202egnp.exe\\u202c" in subjects[3]
    assert "\\u200fmark" in subjects[3]


def test_table_at_80_columns_keeps_ref_and_topic_whole(
    filed: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=True, markup=False, color_system=None)
    monkeypatch.setattr(mailbot.cli_common, "out", console)
    result = runner.invoke(cli, ["contributions", "list"], env=filed)
    assert result.exit_code == 0, result.output
    text = screen.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for ref in ("WGIG-0001", "WGIG-0002", "WGIG-0003", "WGIG-0004"):
        assert ref in text
    assert "composition" in text and "general" in text
    assert "[/b]" in text and "[link=x]" in text  # markup shown, not applied
    assert "\x1b" not in text  # no escape from mail reaches the terminal (no colours here)


def test_json_times_carry_their_offset(filed: dict[str, str]) -> None:
    result = runner.invoke(cli, ["contributions", "list", "--json"], env=filed)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["subject"] == HOSTILE[0]
    assert all(r["received_at"].endswith("+00:00") for r in rows)
    outbox = runner.invoke(cli, ["outbox", "list", "--json"], env=filed)
    assert outbox.exit_code == 0


def test_flag_help_is_plain() -> None:
    help_text = runner.invoke(cli, ["contributions", "list", "--help"], env={"COLUMNS": "80"})
    json_line = next(line for line in help_text.stdout.splitlines() if "--json" in line)
    assert "<bool>" not in json_line and "One JSON object per line." in json_line
    retry = runner.invoke(cli, ["outbox", "retry", "--help"], env={"COLUMNS": "80"})
    failed_line = next(line for line in retry.stdout.splitlines() if "--failed" in line)
    assert "<bool>" not in failed_line and "<bool>" not in retry.stdout
    group = command()  # what `mailbot` runs: every flag of every group
    flags = [p for c in group.commands.values() for p in getattr(c, "params", [])]
    assert all(p.metavar == "" for p in flags if getattr(p, "is_flag", False))


def test_same_database_from_any_directory_and_none_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    made = runner.invoke(cli, ["init", str(site)])
    assert made.exit_code == 0, made.output
    config = site / "mailbot.toml"
    env = {"MAILBOT_CONFIG": str(config)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    missing = runner.invoke(cli, ["contributions", "list"], env=env)
    assert missing.exit_code == 2
    assert f"no database at {site / 'var' / 'mailbot.sqlite3'}" in missing.stderr
    assert not (site / "var" / "mailbot.sqlite3").exists() and not (elsewhere / "var").exists()
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    db = site / "var" / "mailbot.sqlite3"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE((site / "var").stat().st_mode) == 0o700
    third = tmp_path / "third"
    third.mkdir()
    monkeypatch.chdir(third)
    listed = runner.invoke(cli, ["--config", str(config), "contributions", "list"])
    assert listed.exit_code == 0, listed.output
    assert not (third / "var").exists()


def test_init_writes_config_secret_and_postfix_maps(tmp_path: Path) -> None:
    site = tmp_path / "etc"
    result = runner.invoke(cli, ["init", str(site), "--domain", "consult.example.net"])
    assert result.exit_code == 0, result.output
    env_file = site / "mailbot.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    secret = env_file.read_text().strip().removeprefix("MAILBOT_SECRET=")
    assert len(secret) >= 32
    text = (site / "mailbot.toml").read_text()
    assert "change-me-in-production" not in text and 'protocol = "lmtp"' in text
    transport = (site / "postfix" / "mailbot_transport").read_text()
    for address in (
        "contrib@consult.example.net",
        "contrib-request@consult.example.net",
        "contrib-bounces@consult.example.net",
        "contrib+composition@consult.example.net",
    ):
        assert f"{address}\tlmtp:inet:127.0.0.1:8024" in transport
    assert "relay_recipient_maps" in (site / "postfix" / "main.cf").read_text()
    # A second init keeps the secret (tokens already mailed stay valid).
    assert runner.invoke(cli, ["init", str(site), "--force"]).exit_code == 0
    assert secret in env_file.read_text()
    # The settings read the env file beside the config.
    os.environ.pop("MAILBOT_SECRET", None)
    assert load_settings(site / "mailbot.toml").server.secret == secret


def test_deploy_postfix_files_match_the_sample_config() -> None:
    settings = load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={})
    for name, content in snippets(settings).items():
        assert (PROJECT_DIR / "deploy" / "postfix" / name).read_text() == content, name


@pytest.mark.parametrize(
    ("secret", "why"),
    [("change-me-in-production", "sample config"), ("short-secret", "shorter than 32 bytes")],
)
def test_run_refuses_weak_secrets(env: dict[str, str], secret: str, why: str) -> None:
    result = runner.invoke(cli, ["run"], env={**env, "MAILBOT_SECRET": secret})
    assert result.exit_code == 2 and why in result.stderr
    check = runner.invoke(cli, ["config", "check"], env={**env, "MAILBOT_SECRET": secret})
    assert check.exit_code == 1 and "refuses" in check.stderr and why in check.stderr


def test_relative_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    text = (PROJECT_DIR / "config" / "mailbot.toml").read_text()
    text = re.sub(
        r"^data_dir = .*$", 'data_dir = "state"\ntemplates_dir = "mytemplates"', text, flags=re.M
    )
    (folder / "mailbot.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(folder / "mailbot.toml", environ={})
    assert settings.server.data_dir == folder / "state"
    assert settings.server.templates[0] == folder / "mytemplates"
    assert settings.server.db_url == f"sqlite:///{folder / 'state' / 'mailbot.sqlite3'}"
    # From the environment, relative to the working directory.
    other = load_settings(folder / "mailbot.toml", environ={"MAILBOT_DATA_DIR": "here"})
    assert other.server.data_dir == tmp_path / "here"
