"""Real mail nobody here wrote (../shared/corpus): people's list mail is contributions,
feedback reports are complaints, and the author's new text is found in real client replies."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from mailbot.classify import classify
from mailbot.config import PROJECT_DIR, load_settings
from mailbot.conversation.lists import list_id
from mailbot.conversation.newtext import split_text
from mailbot.parse import parse
from mailbot.road import default_road
from tests.conversation.client_replies import CLIENT_REPLIES
from tests.support import corpus_dir

SETTINGS = load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={})
RULES = default_road().rules
# Folders of people's mail delivered through lists (LKML via gmane, mu's list samples...).
PEOPLE = ("notmuch-corpora", "mu-testdata", "hyperkitty", "salmon", "mailman-core")


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def list_mail(root: Path) -> list[Path]:
    found = []
    with (root / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            flags = row["flags"]
            listed = "list-id" in flags or "precedence:list" in flags or "precedence:bulk" in flags
            if listed and row["source"] in PEOPLE and "#" not in row["path"]:
                found.append(root / row["path"])
    return found


def test_people_mail_delivered_by_a_list_is_a_contribution_marked_via_list() -> None:
    paths = list_mail(corpus_dir())
    assert len(paths) >= 200
    wrong = []
    for path in paths:
        mail = parse(path.read_bytes())
        verdict = classify(mail, SETTINGS, rules=RULES)
        if verdict.kind != "contribution" or list_id(mail) is None:
            wrong.append((path.name, verdict.kind, verdict.reason))
    print(f"\n{len(paths)} list messages, {len(paths) - len(wrong)} contributions via a list")
    assert wrong == []


@pytest.mark.parametrize(
    "rel",
    [
        "postal-mime/test/fixtures/arf.eml",
        "flanker/tests/fixtures/messages/complaints/aol.eml",
        "flanker/tests/fixtures/messages/complaints/yahoo.eml",
    ],
)
def test_feedback_reports_are_complaints(rel: str) -> None:
    verdict = classify(parse((corpus_dir() / rel).read_bytes()), SETTINGS, rules=RULES)
    assert verdict.kind == "complaint", verdict.reason


def test_talon_client_replies_give_the_authors_words() -> None:
    root = corpus_dir("talon", "tests", "fixtures")
    ok, total = 0, 0
    for eml in sorted((root / "standard_replies").glob("*.eml")):
        expected_file = eml.with_name(eml.stem + "_reply_text")
        expected = expected_file.read_text() if expected_file.exists() else "Hello"
        split = split_text(parse(eml.read_bytes()).text)
        total += 1
        ok += norm(f"{split.new}\n{split.signature}") == norm(expected)
    print(f"\ntalon standard replies: {ok}/{total} exactly the author's words")
    assert total >= 12 and ok == total


@pytest.mark.parametrize(
    ("name", "body", "new", "signature"), CLIENT_REPLIES, ids=[c[0] for c in CLIENT_REPLIES]
)
def test_client_replies_in_five_languages(name: str, body: str, new: str, signature: str) -> None:
    split = split_text(body)
    assert norm(split.new) == norm(new)
    assert split.signature.startswith(signature)
    assert "Tracking reference" not in split.new
    if "Tracking reference" in body:
        assert "Tracking reference" in split.quoted
