"""Issue 18: a list copy is *shown* as one. Sent over SMTP as a list delivers it, then read
where people read the consultation: the archive pages, the digest (text and HTML, in each
language) and the researchers' CSV/JSON export. Mail sent to us directly carries no mark."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from mailbot.boot import make_app
from mailbot.calendar.digest import build_digest
from mailbot.calendar.digest_mail import render_digest
from mailbot.clock import FrozenClock
from mailbot.conversation.lists import clean_list_id
from mailbot.publish.export import export_csv, export_json
from mailbot.publish.site import build_archive
from tests.conversation.conversation_support import CAUCUS, Conversation, message
from tests.support import BotThread, CaptureRelay, make_settings

# The list id is the sender's text: quotes and an ampersand must come out escaped in HTML.
LIST_ID = "caucus&\"x'.lists.example.org"
HTML_ID = "caucus&amp;&#34;x&#39;.lists.example.org"
LIST_HEADERS = {
    "List-Id": f"Governance caucus <{LIST_ID}>",
    "List-Post": f"<mailto:{CAUCUS}>",
    "Precedence": "list",
    "X-Mailman-Version": "3.3.10",
    "Sender": "caucus-bounces@lists.example.org",
}
MARKS = {"en": "via list", "fr": "via la liste", "es": "vía la lista"}


@pytest.fixture
def talk(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Callable[..., BotThread],
) -> Iterator[Conversation]:
    app = make_app(
        make_settings(database_url, tmp_path / "var", relay=relay.url), clock=FrozenClock()
    )
    conversation = Conversation(app=app, bot=bot_factory(app), relay=relay)
    conversation.send(
        message(
            sender="Ana <ana@example.org>",
            to=CAUCUS,
            mid="list-1@example.org",
            subject="[Caucus] Transparency of the working group",
            body="All documents of the working group should be public, drafts included.",
            headers=LIST_HEADERS,
        )
    )
    conversation.send(
        message(
            sender="Kofi <kofi@example.gh>",
            mid="direct-1@example.gh",
            subject="Transparency: publish the minutes",
            body="The minutes of every meeting should be published within a week.",
        )
    )
    assert conversation.contribution("WGIG-0001").via_list == LIST_ID
    assert conversation.contribution("WGIG-0002").via_list is None
    yield conversation
    app.engine.dispose()


def test_the_archive_marks_a_list_copy_and_only_it(talk: Conversation, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_archive(app=talk.app, out=out)
    copy = (out / "c/WGIG-0001.html").read_text(encoding="utf-8")
    assert f"via list <bdi>{HTML_ID}</bdi>" in copy and LIST_ID not in copy
    assert f"via list <bdi>{HTML_ID}</bdi>" in (out / "t/WGIG-0001.html").read_text()
    topic = (out / f"topic/{talk.contribution('WGIG-0001').topic}.html").read_text()
    assert topic.count("via list") == 1  # the list copy's thread, not Kofi's
    direct = (out / "c/WGIG-0002.html").read_text(encoding="utf-8")
    assert "via list" not in direct and "via-list" not in direct


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_the_digest_marks_a_list_copy_in_text_and_html(talk: Conversation, lang: str) -> None:
    now = talk.app.clock.now()
    with Session(talk.app.engine) as s:
        digest = build_digest(
            app=talk.app,
            session=s,
            start=now - timedelta(days=1),
            end=now + timedelta(days=1),
            issue=1,
        )
    items = {i.ref: i for t in digest.topics for th in t.threads for i in th.items}
    assert items["WGIG-0001"].via_list == LIST_ID and items["WGIG-0002"].via_list is None
    subject, text, html = render_digest(app=talk.app, digest=digest, lang=lang)
    assert "\n" not in subject and LIST_ID not in subject
    assert text.count(f"({MARKS[lang]} {LIST_ID})\n   All documents") == 1  # own line
    # The digest's HTML is re-serialised by css-inline (HTML5 rules: only & < > escaped in text).
    shown = LIST_ID.replace("&", "&amp;")
    assert html.count(f"({MARKS[lang]} <bdi>{shown}</bdi>)") == 1 and LIST_ID not in html
    kofi = text[text.index("[WGIG-0002]", text.index("[WGIG-0002]") + 1) :].split("\n")
    assert kofi[1].endswith("[en]") and kofi[2].strip().startswith("The minutes"), kofi[:3]


def test_the_export_has_a_via_list_column(talk: Conversation) -> None:
    table = io.StringIO()
    export_csv(app=talk.app, stream=table)
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(table.getvalue()))}
    assert rows["WGIG-0001"]["via_list"] == LIST_ID and rows["WGIG-0002"]["via_list"] == ""
    document = io.StringIO()
    export_json(app=talk.app, stream=document)
    records = {r["reference"]: r for r in json.loads(document.getvalue())["contributions"]}
    assert records["WGIG-0001"]["via_list"] == LIST_ID
    assert records["WGIG-0002"]["via_list"] is None


def test_a_list_id_is_shown_on_one_line_without_control_characters() -> None:
    assert clean_list_id("caucus\r\nBcc: victim@example.org\x00\x1b[2J") == (
        "caucus Bcc: victim@example.org [2J"
    )
    assert clean_list_id(" \t\r\n") is None and clean_list_id(None) is None
    assert len(clean_list_id("x" * 500) or "") == 200
