"""Small rules of the conversation: what says nothing, which subjects are out-of-office,
which list a copy came through."""

from __future__ import annotations

import pytest

from mailbot.classify import classify
from mailbot.config import PROJECT_DIR, load_settings
from mailbot.conversation.lists import list_id
from mailbot.conversation.newtext import says_nothing
from mailbot.parse import parse
from mailbot.road import default_road

SETTINGS = load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={})
RULES = default_road().rules


@pytest.mark.parametrize(
    ("text", "nothing"),
    [
        ("Thanks!", True),
        ("Merci !\n\nAna Pérez\nDigital Rights NGO", True),
        ("OK, received. Thank you.\n> Tracking reference: WGIG-0001", True),
        ("Muchas gracias", True),
        ("Thanks, I disagree with the proposal on regional seats.", False),
        ("Hello,\n\nThe forum must include parliamentarians.\n\nBest,\nAna", False),
    ],
)
def test_what_says_nothing(text: str, nothing: bool) -> None:
    assert says_nothing(text) is nothing


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("Out of office: back on Monday", "autoreply"),
        ("Automatic reply: Idea [WGIG-0001]", "autoreply"),
        ("Réponse automatique : Idée", "autoreply"),
        ("Abwesenheitsnotiz: Idee", "autoreply"),
        ("Idea (Auto-Reply)", "autoreply"),
        ("[Caucus] Out of office: back on Monday", "autoreply"),
        ("Meetings out of office hours", "contribution"),
        ("Out of office hours meetings", "contribution"),
        ("On working out of the office: remote participation", "contribution"),
    ],
)
def test_out_of_office_only_by_its_real_forms(subject: str, kind: str) -> None:
    raw = (
        f"From: ana@example.org\r\nTo: contrib@consult.example.org\r\nSubject: {subject}\r\n"
        "Message-ID: <s@example.org>\r\n\r\nText.\r\n"
    ).encode()
    assert classify(parse(raw), SETTINGS, rules=RULES).kind == kind


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("List-Id: Caucus <caucus.lists.example.org>", "caucus.lists.example.org"),
        ("List-Post: <mailto:wg@groups.example.com>", "wg@groups.example.com"),
        ("Sender: owner-linux-mm@kvack.org", "linux-mm@kvack.org"),
        ("Sender: caucus-bounces+ana=example.org@lists.example.org", "caucus@lists.example.org"),
        ("X-Loop: owner-majordomo@vger.kernel.org", "list"),
        ("Sender: ana@example.org", None),
    ],
)
def test_which_list_a_copy_came_through(headers: str, expected: str | None) -> None:
    raw = (
        f"From: ana@example.org\r\nTo: x@example.org\r\n{headers}\r\nSubject: s\r\n\r\nText.\r\n"
    ).encode()
    assert list_id(parse(raw)) == expected
