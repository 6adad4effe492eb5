"""SQLite takes one pipeline: a second `mailbot run` with the pipeline role is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.scale.cluster import Cluster, base_env


def test_a_second_pipeline_on_sqlite_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o700)
    env = base_env(f"sqlite:///{data / 'mailbot.sqlite3'}", data)
    cluster = Cluster()
    cluster.add("first", "listener", "pipeline", "sender", env=env, listen=True)
    cluster.start()  # listening: its pipeline lock is held
    try:
        second = subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "run", "--role", "pipeline"],
            env=env,
            cwd=data,
            capture_output=True,
            timeout=60,
        )
        assert second.returncode == 2
        message = second.stderr.decode()
        assert "another mailbot process already runs the pipeline" in message
        assert "PostgreSQL" in message
        # A listener alone takes no pipeline lock: it may run beside.
        listener = Cluster()
        listener.add("listener", "listener", env=env, listen=True)
        listener.start()
        listener.stop()
        assert listener.members[0].proc is not None
        assert listener.members[0].proc.returncode == 0
    finally:
        cluster.stop()
    assert cluster.members[0].proc is not None and cluster.members[0].proc.returncode == 0
