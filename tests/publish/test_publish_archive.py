"""The static archive: pages, feeds, incremental rebuilds, and moderation outcomes honoured."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

from mailbot.app import App
from mailbot.publish.export import export_csv, export_json, export_mbox
from mailbot.publish.site import build_archive
from mailbot.publish.synthesis import render_synthesis
from tests.publish.publish_mail import (
    consultation_mail,
    ingest,
    mail,
    set_status,
    thread_and_show_html,
)
from tests.support import file_text

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(feed: Path) -> list[str]:
    root = ET.parse(feed).getroot()
    return [e.findtext(f"{ATOM}id", "").rsplit("/", 1)[-1] for e in root.iter(f"{ATOM}entry")]


def test_archive_pages_feeds_and_incremental_rebuild(app: App, tmp_path: Path) -> None:
    refs = ingest(app, consultation_mail())
    thread_and_show_html(app)
    out = tmp_path / "site"
    first = build_archive(app=app, out=out)
    assert (first.contributions, first.threads) == (5, 3)
    assert first.unchanged == 0 and first.written == first.pages

    home = (out / "index.html").read_text()
    assert 'name="viewport"' in home and "2027-01-31 18:00 CET" in home  # the deadline
    assert 'href="topic/composition.html"' in home
    # The only scripts are the archive's own search files (issue 15), none inline.
    assert re.findall(r"<script[^>]*>", home) == [
        '<script src="pagefind/pagefind-ui.js" defer>',
        '<script src="search.js" defer>',
    ]
    thread = (out / "t/WGIG-0001.html").read_text()
    # Tree order: the root, the French reply, then the answer to the reply, indented.
    assert (
        thread.index('id="WGIG-0001"')
        < thread.index('id="WGIG-0002"')
        < thread.index('id="WGIG-0005"')
    )
    assert 'class="contribution d2" id="WGIG-0005" lang="en"' in thread
    assert 'id="WGIG-0002" lang="fr"' in thread
    page = (out / "c/WGIG-0001.html").read_text()
    assert (
        "proposal.pdf" in page
        and "47a663b968dee577895ba9330c9bf1cca3a97691572eb82dfdd91cf3b7a433ad" in page
    )
    from mailbot.reading import text_sha256

    assert (
        text_sha256(
            "We believe civil society should hold a third of the seats.\n"
            "The members should rotate every two years."
        )
        in page
    )
    spanish = (out / "c/WGIG-0003.html").read_text()
    assert 'lang="es"' in spanish and "anonymous" in spanish and "carlos@" not in spanish
    for path in (p for p in out.rglob("*") if p.is_file()):  # no author address anywhere
        text = file_text(path)
        assert not any(a in text for a in ("alice@", "renee@", "carlos@", "bob@")), path
    assert entries(out / "feed.atom") == list(reversed(refs))  # newest first
    assert entries(out / "topic/working-methods.atom") == ["WGIG-0004", "WGIG-0003"]
    assert "WGIG-0003" in (out / "topic/working-methods.html").read_text()

    # Nothing new: nothing rewritten.
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.html")}
    again = build_archive(app=app, out=out)
    assert again.written == 0 and again.removed == 0 and again.unchanged == first.pages

    # A reply to the Spanish message: only the pages it touches are rewritten.
    app.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    (new_ref,) = ingest(
        app,
        [
            mail(
                6,
                sender="eva@example.es",
                name="Eva",
                lang="es",
                subject="Re: [methods] Transparencia de las reuniones",
                reply_to="pub-3@example.net",
                body="Sí, y las actas deben publicarse en tres idiomas.\n",
            )
        ],
    )
    thread_and_show_html(app)
    third = build_archive(app=app, out=out)
    assert sorted(third.written_paths) == sorted(
        [
            f"c/{new_ref}.html",
            "c/WGIG-0003.html",  # the new page; its parent lists the reply
            "t/WGIG-0003.html",
            "topic/working-methods.html",
            "topic/working-methods.atom",
            "feed.atom",
            "index.html",
        ]
    )
    assert third.removed == 0
    untouched = out / "c/WGIG-0001.html"
    assert untouched.stat().st_mtime_ns == mtimes[untouched]
    assert (out / "t/WGIG-0001.html").stat().st_mtime_ns == mtimes[out / "t/WGIG-0001.html"]
    assert 'id="WGIG-0006" lang="es"' in (out / "t/WGIG-0003.html").read_text()


def everything(app: App, out: Path) -> str:
    """The archive, feeds, all three exports and both synthesis formats, as one text."""
    parts = [file_text(p) for p in sorted(out.rglob("*")) if p.is_file()]
    mbox, csv_text, json_text = io.BytesIO(), io.StringIO(), io.StringIO()
    export_mbox(app=app, stream=mbox)
    export_csv(app=app, stream=csv_text)
    export_json(app=app, stream=json_text)
    parts += [mbox.getvalue().decode("utf-8", "replace"), csv_text.getvalue(), json_text.getvalue()]
    parts += ["".join(render_synthesis(app=app, fmt=f)) for f in ("md", "html")]  # type: ignore[arg-type]
    return "\n".join(parts)


def test_withdrawn_rejected_and_held_are_absent_everywhere(app: App, tmp_path: Path) -> None:
    ingest(app, consultation_mail())
    held = ingest(
        app,
        [
            mail(
                7,
                sender="h@example.org",
                name="Held Person",
                lang="en",
                subject="[general] Waiting for a moderator",
                body="This held text must never be published anywhere.\n",
            )
        ],
    )[0]
    set_status(app, held, "held")
    thread_and_show_html(app)
    out = tmp_path / "site"
    build_archive(app=app, out=out)
    before = everything(app, out)
    assert "third of the seats" in before and "Transparencia de las reuniones" in before
    assert held not in before and "held text" not in before

    # Moderation outcomes: the French reply is withdrawn, the Spanish message rejected.
    set_status(app, "WGIG-0002", "withdrawn")
    set_status(app, "WGIG-0003", "rejected")
    result = build_archive(app=app, out=out)
    assert result.removed == 3  # c/WGIG-0002, c/WGIG-0003 and the thread page t/WGIG-0003
    assert not (out / "c/WGIG-0002.html").exists() and not (out / "c/WGIG-0003.html").exists()
    after = everything(app, out)
    for gone in (
        "WGIG-0002",
        "WGIG-0003",
        "tiers des sièges",
        "actas abiertas",
        "Renée",
        "Message-ID: <pub-2@",
        "Message-ID: <pub-3@",
        held,
        "held text",
    ):
        assert gone not in after, gone
    # The answer to the withdrawn reply stays, hung under the nearest published ancestor.
    thread = (out / "t/WGIG-0001.html").read_text()
    assert 'class="contribution d1" id="WGIG-0005"' in thread
    assert entries(out / "feed.atom") == ["WGIG-0005", "WGIG-0004", "WGIG-0001"]
    records = json.loads(_json(app))["contributions"]
    assert [r["reference"] for r in records] == ["WGIG-0001", "WGIG-0004", "WGIG-0005"]
    assert {r["thread"] for r in records} == {"WGIG-0001", "WGIG-0004"}


def _json(app: App) -> str:
    stream = io.StringIO()
    export_json(app=app, stream=stream)
    return stream.getvalue()
