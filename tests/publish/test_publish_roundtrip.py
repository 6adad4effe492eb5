"""Exports through the CLI, and the round trip: mbox export -> `mailbot ingest --mbox` into an
empty database gives the same contributions, topics and threads."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.cli import cli
from mailbot.config import PROJECT_DIR
from mailbot.publish import store
from mailbot.publish.export import FIELDS
from tests.publish.publish_mail import consultation_mail, ingest, set_status, thread_and_show_html
from tests.support import BACKEND, PG_URL, make_settings


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A second database nobody has used (as the `database_url` fixture makes the first)."""
    if BACKEND == "sqlite":
        (tmp_path / "imported.sqlite3").touch()  # the CLI opens a database, never creates one
        yield f"sqlite:///{tmp_path / 'imported.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run(database_url: str, data_dir: Path, *args: str) -> str:
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(data_dir),
    }
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def json_objects(stream: str) -> list[dict[str, object]]:
    """The JSON objects printed one after the other (pretty-printed or one per line)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := stream.find("{", at)) >= 0:
        obj, at = decoder.raw_decode(stream, at)
        found.append(obj)
    return found


def shape(app: App) -> tuple[set[tuple[str, str, str]], set[frozenset[str]]]:
    """(subject, topic, text hash) of each published contribution, and the thread grouping
    as sets of subjects: both independent of the references given on arrival."""
    with Session(app.engine) as session:
        plan = store.plan(session=session, consultation_id=app.consultation.id)
    rows = {(e.subject, e.topic, e.sha256) for e in plan.entries.values()}
    threads = {frozenset(plan.entries[r].subject for r in t.refs) for t in plan.threads}
    return rows, threads


def test_mbox_round_trip_into_an_empty_database(
    app: App, database_url: str, empty_database_url: str, tmp_path: Path
) -> None:
    ingest(app, consultation_mail())
    set_status(app, "WGIG-0003", "withdrawn")
    thread_and_show_html(app)  # as the threading step will: thread_id/parent_id on the rows
    original = shape(app)
    assert len(original[0]) == 4 and len(original[1]) == 2  # a 3-message thread and one alone

    box = tmp_path / "export.mbox"
    run(database_url, tmp_path / "var", "export", "--format", "mbox", "--output", str(box))
    assert box.read_bytes().startswith(b"From ")
    assert box.read_bytes().count(b"\nFrom ") == 3  # four messages, the withdrawn one left out

    listing = run(empty_database_url, tmp_path / "var2", "ingest", "--mbox", "--json", str(box))
    outcomes = json_objects(listing)
    assert [o["outcome"] for o in outcomes] == ["contribution"] * 4
    imported = make_app(make_settings(empty_database_url, tmp_path / "var2"))
    try:
        # The imported rows have no thread_id unless the threading step ran: the archive
        # threads them by their headers, and must find the same threads.
        assert shape(imported) == original
    finally:
        imported.engine.dispose()


def test_csv_and_json_exports_by_topic(app: App, database_url: str, tmp_path: Path) -> None:
    ingest(app, consultation_mail())
    set_status(app, "WGIG-0004", "rejected")
    thread_and_show_html(app)
    data_dir = tmp_path / "var"
    table = run(database_url, data_dir, "export", "--format", "csv", "--topic", "composition")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert tuple(rows[0]) == FIELDS
    assert [r["reference"] for r in rows] == ["WGIG-0001", "WGIG-0002", "WGIG-0005"]
    assert {r["thread"] for r in rows} == {"WGIG-0001"}
    assert rows[2]["parent"] == "WGIG-0002" and rows[1]["language"] == "fr"
    assert rows[1]["author"] == "Renée Lefèvre" and rows[0]["late"] == "False"
    assert "@" not in table.replace("contrib@", "")  # no address of any author

    out = tmp_path / "all.json"
    run(database_url, data_dir, "export", "--format", "json", "--output", str(out))
    document = json.loads(out.read_text(encoding="utf-8"))
    records = {r["reference"]: r for r in document["contributions"]}
    assert set(records) == {"WGIG-0001", "WGIG-0002", "WGIG-0003", "WGIG-0005"}
    assert records["WGIG-0003"]["author"] is None and records["WGIG-0003"]["language"] == "es"
    from mailbot.reading import text_sha256

    assert all(text_sha256(r["text"]) == r["sha256"] for r in records.values())

    report = run(database_url, data_dir, "report", "synthesis", "--format", "md")
    assert "| WGIG-0001 | `" in report and "WGIG-0004" not in report
    assert "Threads with most replies" in report and "(2 replies)" in report
    html = tmp_path / "synthesis.html"
    run(database_url, data_dir, "report", "synthesis", "--format", "html", "--output", str(html))
    assert '<li lang="fr" dir="auto"><strong>WGIG-0002</strong>' in html.read_text()
