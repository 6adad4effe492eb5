"""Campaign clustering at filing, on a generated set (bench/campaign_data.py): precision and
recall against the truth, an index that survives a restart, and what readers see (CLI,
export, archive page, digest)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bench.campaign_data import generate, pair_scores
from mailbot.app import App
from mailbot.boot import make_app
from mailbot.calendar.digest import build_digest
from mailbot.campaigns.models import CampaignMember
from mailbot.campaigns.view import describe
from mailbot.cli import cli
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.models import Contribution, OutboxMessage
from mailbot.pipeline import process_pending
from mailbot.publish.export import export_csv
from mailbot.publish.site import build_archive
from mailbot.publish.synthesis import render_synthesis
from mailbot.receive import RawIn, store_raw_batch
from tests.commands.commands_support import ingest, mail

ADDED = "Personally I would also like the minutes translated into Kiswahili and Hausa please"


def file_all(app: App, texts: list[str], tag: str) -> None:
    items = [
        RawIn(raw=mail(sender=f"p{n}@{tag}.example.org", body=text), source="ingest")
        for n, text in enumerate(texts)
    ]
    store_raw_batch(app=app, items=items)
    process_pending(app=app)


def clusters(app: App) -> dict[str, int]:
    """ref -> cluster id (a contribution not indexed is a cluster of its own)."""
    with Session(app.engine) as s:
        placed = dict(
            s.exec(select(CampaignMember.contribution_id, CampaignMember.campaign_id)).all()
        )
        rows = s.exec(select(Contribution.id, Contribution.ref).order_by(Contribution.id)).all()  # type: ignore[arg-type]
    return {ref: placed.get(cid or 0, -(cid or 0)) for cid, ref in rows}


@pytest.fixture
def filed(app: App) -> tuple[App, list[int]]:
    data = list(
        generate(campaigns=3, originals=30, min_copies=15, max_copies=40, total=110, seed=3)
    )
    file_all(app, [t for t, _ in data], "gen")
    return app, [t for _, t in data]


def test_precision_and_recall_on_a_generated_set(filed: tuple[App, list[int]]) -> None:
    app, truth = filed
    predicted = list(clusters(app).values())
    assert len(predicted) == len(truth)
    precision, recall = pair_scores(predicted, truth)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    # Every copy still got its own receipt.
    with Session(app.engine) as s:
        acks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ack")).all()
    assert len(acks) == len(truth)


def test_the_index_survives_a_restart(filed: tuple[App, list[int]], clock: FrozenClock) -> None:
    app, truth = filed
    before = clusters(app)
    first_copy = next(ref for ref, t in zip(before, truth, strict=True) if t == 0)
    with Session(app.engine) as s:
        text = s.exec(select(Contribution.text).where(Contribution.ref == first_copy)).one()
    again = make_app(app.settings, clock=clock)  # a new process: nothing in memory
    outcome = ingest(again, mail(sender="late@example.org", body=text + "\n\n" + ADDED + "."))
    assert outcome.ref
    after = clusters(again)
    assert after[outcome.ref] == before[first_copy]
    with Session(again.engine) as s:
        found = describe(session=s, ref=outcome.ref, min_copies=3, added_words=5)
    assert found is not None and outcome.ref in found.refs and found.count == truth.count(0) + 1
    added = dict(found.added)
    assert "kiswahili and hausa" in added[outcome.ref]
    assert found.shared_text and ADDED not in found.shared_text


def test_clustering_off_files_nothing(app: App) -> None:
    config = app.settings.campaigns.model_copy(update={"enabled": False})
    off = replace(app, settings=app.settings.model_copy(update={"campaigns": config}))
    file_all(
        off,
        [t for t, _ in generate(campaigns=1, originals=2, min_copies=5, max_copies=5, total=7)],
        "off",
    )
    with Session(app.engine) as s:
        assert s.exec(select(CampaignMember)).all() == []


def test_readers_see_a_campaign_once(
    filed: tuple[App, list[int]], tmp_path: Path, database_url: str
) -> None:
    app, truth = filed
    refs = list(clusters(app))
    copies = [ref for ref, t in zip(refs, truth, strict=True) if t == 1]
    # CLI: list and show --json
    env = {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": database_url,
        "MAILBOT_DATA_DIR": str(app.settings.server.data_dir),
    }
    runner = CliRunner()
    listed = runner.invoke(cli, ["campaigns", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert sorted(r["count"] for r in rows) == sorted(truth.count(k) for k in (0, 1, 2))
    shown = runner.invoke(cli, ["campaigns", "show", "--json", copies[-1]], env=env)
    item = json.loads(shown.output)
    assert item["ref"] == copies[0] and item["refs"] == copies and item["count"] == len(copies)
    # Export: a campaign column.
    out = io.StringIO()
    export_csv(app=app, stream=out)
    by_ref = {r["reference"]: r["campaign"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert {by_ref[r] for r in copies} == {copies[0]}
    assert all(by_ref[r] == "" for r, t in zip(refs, truth, strict=True) if t < 0)
    # Archive: a campaign page; the topic page lists the campaign once.
    site = tmp_path / "site"
    build_archive(app=app, out=site)
    page = (site / "campaign" / f"{copies[0]}.html").read_text()
    assert all(ref in page for ref in copies) and 'dir="auto"' in page
    topics = "".join(p.read_text() for p in (site / "topic").glob("*.html"))
    assert f"campaign/{copies[0]}.html" in topics
    assert sum(f"t/{r}.html" in topics for r in copies) <= 1
    # Synthesis: the campaign once, with its count; languages counted.
    report = "".join(render_synthesis(app=app, fmt="md"))
    assert f"Campaign {copies[0]}: {len(copies)} copies" in report
    assert sum(f"**{r}**" in report for r in copies) == 1
    # Digest: one item for the campaign, with its count.
    now = app.clock.now()
    with Session(app.engine) as s:
        digest = build_digest(
            app=app,
            session=s,
            start=now - timedelta(days=7),
            end=now + timedelta(seconds=1),
            issue=1,
        )
    items = [i for topic in digest.topics for th in topic.threads for i in th.items]
    assert [i.copies for i in items if i.campaign == copies[0]] == [len(copies)]
    assert len(items) == sum(t < 0 for t in truth) + 3
    assert sum(digest.languages.values()) == len(truth)
