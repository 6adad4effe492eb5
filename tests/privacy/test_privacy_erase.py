"""ERASE, round trip over SMTP: the author asks, confirms with the token mailed to them,
and after `mailbot privacy purge` and a rebuild the erased text, name and address are
nowhere: not in the data dir, the archive, the exports, nor the database (on SQLite the
file itself after VACUUM; on PostgreSQL every column of every table). The thread still
renders, with the notice in the erased message's place."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from sqlmodel import Session, col

from mailbot.boot import make_app
from mailbot.calendar.registry import run_job
from mailbot.clock import FrozenClock
from mailbot.moderation.models import ModerationDecision
from mailbot.privacy.cli import held_about, purge
from mailbot.privacy.follow import follow_times
from mailbot.publish.export import export_csv, export_json, export_mbox
from mailbot.publish.site import build_archive
from tests.commands.commands_support import COMMANDS
from tests.conversation.conversation_support import Conversation, message, reply_to
from tests.support import BACKEND, BotThread, CaptureRelay, file_bytes, make_settings

NAME = "Zebulon Quartermaine"
ADDRESS = "zq.erase-me@example.net"
SECRET_TEXT = "The purple hippopotamus doctrine of multistakeholder rotation"
OTHER = "Ada Byron <ada@example.org>"


@pytest.fixture
def talk(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Callable[..., BotThread],
) -> Iterator[Conversation]:
    settings = make_settings(database_url, tmp_path / "var", relay=relay.url)
    app = make_app(settings, clock=FrozenClock())
    yield Conversation(app=app, bot=bot_factory(app), relay=relay)
    app.engine.dispose()


def publish_everything(talk: Conversation, out: Path) -> None:
    build_archive(app=talk.app, out=out / "site")
    with (out / "export.mbox").open("wb") as box:
        export_mbox(app=talk.app, stream=box)
    with (out / "export.csv").open("w", encoding="utf-8") as table:
        export_csv(app=talk.app, stream=table)
    with (out / "export.json").open("w", encoding="utf-8") as doc:
        export_json(app=talk.app, stream=doc)


def needles() -> list[bytes]:
    return [n.encode() for n in (NAME, ADDRESS, SECRET_TEXT, "hippopotamus", "Quartermaine")]


def files_holding(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = file_bytes(path).lower()
            found += [f"{path}: {n!r}" for n in needles() if n.lower() in data]
    return found


def database_holding(talk: Conversation, tmp_path: Path) -> list[str]:
    """Every row of every table (both backends), then on SQLite the file's own bytes."""
    found = rows_holding(talk)
    if BACKEND == "sqlite":
        files = [p for p in tmp_path.glob("mailbot.sqlite3*") if p.is_file()]
        assert tmp_path / "mailbot.sqlite3" in files
        for path in files:
            data = path.read_bytes().lower()
            found += [f"{path.name}: {n!r}" for n in needles() if n.lower() in data]
    return found


def rows_holding(talk: Conversation) -> list[str]:
    found = []
    meta = MetaData()
    meta.reflect(bind=talk.app.engine)
    with talk.app.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                text = repr(tuple(row)).lower().encode()
                found += [f"{table.name}: {n!r}" for n in needles() if n.lower() in text]
    return found


def test_erase_round_trip_over_smtp(talk: Conversation, tmp_path: Path) -> None:
    body = f"{SECRET_TEXT} should guide the working group.\n\n-- \n{NAME}\n{ADDRESS}"
    talk.send(
        message(sender=f"{NAME} <{ADDRESS}>", mid="e-1@example.net", subject="Rotation", body=body)
    )
    talk.send(
        message(
            sender=OTHER,
            mid="e-2@example.org",
            subject="Re: Rotation",
            body="I disagree: rotation should follow the regions, not a doctrine.",
            headers={"In-Reply-To": "<e-1@example.net>", "References": "<e-1@example.net>"},
        )
    )
    data_dir = talk.app.settings.server.data_dir
    publish_everything(talk, data_dir)
    assert files_holding(data_dir)  # published before the erasure: the name is there

    talk.send(
        message(
            sender=ADDRESS, mid="e-3@example.net", to=COMMANDS, subject="ERASE WGIG-0001", body=""
        ),
        rcpts=(COMMANDS,),
    )
    (confirm,) = talk.mails_to(ADDRESS, "CONFIRM")
    assert "erase" in confirm["Subject"]
    assert talk.contribution("WGIG-0001").erased_at is None  # nothing before the token
    talk.send(
        reply_to(
            confirm, sender=ADDRESS, mid="e-4@example.net", to=COMMANDS, top="Yes.", attribution=""
        ),
        rcpts=(COMMANDS,),
    )
    erased = talk.contribution("WGIG-0001")
    assert erased.erased_at is not None and erased.text_sha256  # the hash stays
    assert erased.ref == "WGIG-0001" and erased.topic and erased.received_at
    done = talk.mails_to(ADDRESS, "Results")[-1].get_content()
    assert "WGIG-0001: erased" in done

    with Session(talk.app.engine) as s:
        report = held_about(session=s, address=ADDRESS)
        log = s.exec(
            select(ModerationDecision).where(col(ModerationDecision.action) == "erase")
        ).all()
    assert report["participant"] is None and report["contributions"] == []
    assert [d[0].actor for d in log] == ["author"]

    # The calendar finishes the erasure by itself (hourly while one waits) ...
    with Session(talk.app.engine) as s:
        assert follow_times(app=talk.app, session=s)
    assert run_job(app=talk.app, name="erasure-follow-up") == "erasures completed: 1"
    with Session(talk.app.engine) as s:
        assert follow_times(app=talk.app, session=s) == []
    # ... and `mailbot privacy purge` finds nothing left to finish, and compacts the database.
    assert purge(app=talk.app)["erasures_completed"] == 0
    publish_everything(talk, data_dir)
    assert files_holding(data_dir) == []
    assert files_holding(tmp_path / "var") == []
    assert database_holding(talk, tmp_path) == []

    thread = (data_dir / "site" / "t" / "WGIG-0001.html").read_text(encoding="utf-8")
    assert "erased at the author" in thread and "follow the regions" in thread
    mbox = io.BytesIO()
    assert export_mbox(app=talk.app, stream=mbox) == 2
