"""`mailbot threads list|show|rebuild` on a store filled through the real pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailbot.app import App
from mailbot.cli import cli
from mailbot.config import PROJECT_DIR
from tests.threads.thread_mail import by_mid, deliver, mail, threads


@pytest.fixture
def run(app: App, database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(tmp_path / "var"),
    }

    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def filed(app: App) -> App:
    deliver(
        app,
        mail("root@x.example", "[composition] Seats for regions", sender="a@example.org"),
        mail("r1@x.example", "Re: [composition] Seats for regions", refs=("root@x.example",),
             hours=1, sender="b@example.org"),
        mail("r2@x.example", "Re: Re: [composition] Seats for regions",
             refs=("root@x.example", "r1@x.example"), hours=2),
        # Two replies to a message we never got: a ghost root.
        mail("g1@x.example", "Re: [Méthodes] Minutes", refs=("lost@x.example",), hours=3),
        mail("g2@x.example", "Re: [Méthodes] Minutes", refs=("lost@x.example",), hours=4,
             sender="c@example.org"),
    )  # fmt: skip
    return app


def test_list_json_and_topic_filter(filed: App, run) -> None:  # type: ignore[no-untyped-def]
    rows = lines(run("threads", "list", "--json"))
    assert [(r["topic"], r["title"], r["messages"], r["participants"]) for r in rows] == [
        ("composition", "Seats for regions", 3, 3),
        ("working-methods", "Minutes", 2, 2),
    ]
    assert rows[0]["root"] == "WGIG-0001" and not rows[0]["ghost_root"]
    assert rows[1]["root"] is None and rows[1]["ghost_root"]
    assert rows[1]["root_message_id"] == "lost@x.example"
    only = lines(run("threads", "list", "--topic", "working-methods", "--json"))
    assert [r["id"] for r in only] == [rows[1]["id"]]
    assert lines(run("threads", "list", "--topic", "open-meeting", "--json")) == []
    table = run("threads", "list")
    assert "Seats" in table and "(ghost)" in table  # a narrow terminal wraps the cells


def test_show_tree_json_and_text(filed: App, run) -> None:  # type: ignore[no-untyped-def]
    rows = by_mid(filed)
    tid = rows["root@x.example"].thread_id
    nodes = lines(run("threads", "show", str(tid), "--json"))
    assert [(n["depth"], n["ref"], n["message_id"], n["parent"]) for n in nodes] == [
        (0, "WGIG-0001", "root@x.example", None),
        (1, "WGIG-0002", "r1@x.example", "WGIG-0001"),
        (2, "WGIG-0003", "r2@x.example", "WGIG-0002"),
    ]
    ghost = lines(run("threads", "show", "WGIG-0005", "--json"))  # by a ref in the thread
    assert ghost[0] == {
        "thread": rows["g1@x.example"].thread_id, "depth": 0, "ghost": True, "ref": None,
        "message_id": "lost@x.example", "parent": None, "parent_message_id": None,
        "topic": None, "subject": None,
    }  # fmt: skip
    assert [(n["depth"], n["ref"], n["parent"], n["parent_message_id"]) for n in ghost[1:]] == [
        (1, "WGIG-0004", None, "lost@x.example"),
        (1, "WGIG-0005", None, "lost@x.example"),
    ]
    text = run("threads", "show", str(tid))
    assert text.splitlines()[1:] == [
        "WGIG-0001 <root@x.example> [composition] [composition] Seats for regions",
        "  WGIG-0002 <r1@x.example> [composition] Re: [composition] Seats for regions",
        "    WGIG-0003 <r2@x.example> [composition] Re: Re: [composition] Seats for regions",
    ]
    assert "(ghost) <lost@x.example>" in run("threads", "show", "WGIG-0004")


def test_show_unknown_thread(filed: App, run) -> None:  # type: ignore[no-untyped-def]
    assert "no thread 999" in run("threads", "show", "999", code=1)
    assert "no thread WGIG-0999" in run("threads", "show", "WGIG-0999", code=1)


def test_rebuild_keeps_the_threads(filed: App, run) -> None:  # type: ignore[no-untyped-def]
    before = {t.id: (t.messages, t.title) for t in threads(filed).values()}
    assert "2 threads" in run("threads", "rebuild")
    assert {t.id: (t.messages, t.title) for t in threads(filed).values()} == before
