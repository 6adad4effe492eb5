"""The package as an administrator installs it: a wheel built from the tree, installed into a
fresh venv outside it, `mailbot init`, `mailbot run` from another directory answering a
contribution with a receipt, and `contributions list` from a third directory."""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.config import PROJECT_DIR
from tests.support import CaptureRelay, free_port, wait_for

pytestmark = pytest.mark.slow


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILBOT_", "PYTHON"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """bin/ of a fresh venv with the wheel (and its dependencies) installed."""
    root = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the sources, so the build leaves nothing in the working tree.
    source = root / "src"
    skip = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", "var")
    shutil.copytree(PROJECT_DIR, source, ignore=skip)
    (source / "config" / "mailbot.env").unlink(missing_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)],
        check=True,
        cwd=root,
        env=clean_env(),
    )
    (wheel,) = (root / "dist").glob("mailbot-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    bin_dir = root / "venv" / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "--disable-pip-version-check", "-q", "install", str(wheel)],
        check=True,
        cwd=root,
        env=clean_env(),
    )
    yield bin_dir


def test_wheel_install_init_run_and_list_from_other_directories(
    installed: Path, tmp_path: Path
) -> None:
    first, second, third = (tmp_path / d for d in ("a", "b", "c"))
    for d in (first, second, third):
        d.mkdir()
    mailbot = str(installed / "mailbot")
    where = subprocess.run(
        [str(installed / "python"), "-c", "import mailbot; print(mailbot.__file__)"],
        cwd=first, env=clean_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(PROJECT_DIR) not in where.stdout and "site-packages" in where.stdout
    init = subprocess.run(
        [mailbot, "init", "site"], cwd=first, env=clean_env(), capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    config = first / "site" / "mailbot.toml"
    relay = CaptureRelay()
    relay.start()
    port = free_port()
    env = clean_env(
        MAILBOT_LISTEN=f"127.0.0.1:{port}", MAILBOT_RELAY=relay.url, MAILBOT_RELAY_TLS="none"
    )
    bot = subprocess.Popen(
        [mailbot, "--config", str(config), "--log-format", "json", "run"],
        cwd=second,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def listening() -> bool:
            try:
                with smtplib.LMTP("127.0.0.1", port, timeout=2) as probe:
                    return probe.noop()[0] == 250
            except OSError:
                return False

        assert wait_for(listening, timeout=60), "mailbot run did not start"
        with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "kofi@example.gh",
                ["contrib@consult.example.org"],
                b"From: Kofi <kofi@example.gh>\r\nTo: contrib@consult.example.org\r\n"
                b"Subject: [working-methods] Open sessions\r\nMessage-ID: <w-1@example.gh>\r\n\r\n"
                b"All sessions of the working group should be open to observers.\r\n",
            )
        assert wait_for(lambda: relay.messages, timeout=60), "no receipt"
        (receipt,) = relay.messages
        assert receipt.rcpt_tos == ["kofi@example.gh"]
        assert b"[WGIG-0001]" in receipt.data and b"Tracking reference" in receipt.data
    finally:
        bot.terminate()
        output, _ = bot.communicate(timeout=60)
        relay.stop()
    assert bot.returncode == 0, output.decode()
    assert not (second / "var").exists()  # the data dir is the config's, not the cwd's
    assert (first / "site" / "var" / "mailbot.sqlite3").exists()
    lines = output.decode().splitlines()
    assert all(line.startswith("{") for line in lines), lines[:5]  # --log-format json
    assert not any("mail.log" in line for line in lines)  # no SMTP protocol chatter
    messages = [json.loads(line) for line in lines]
    filed = [
        m for m in messages if m["logger"] == "mailbot.pipeline" and "WGIG-0001" in m["message"]
    ]
    sent = [
        m
        for m in messages
        if m["logger"] == "mailbot.sender" and m["message"].startswith("sent ack")
    ]
    assert len(filed) == 1 and len(sent) == 1  # one line per message, one per mail sent
    assert messages[0]["time"].endswith("+00:00")
    listed = subprocess.run(
        [mailbot, "--config", str(config), "contributions", "list"],
        cwd=third, env=clean_env(), capture_output=True, text=True,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.splitlines()[1].split("\t")
    assert row[:2] == ["WGIG-0001", "working-methods"]
