"""Threading against the corpus's recorded answers: Dovecot's imaptest suite and notmuch."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

from mailbot.threads import ThreadInput, format_imap_thread, subject_sort_key, thread
from tests.threads.corpus_mail import corpus_path, read_file, read_mbox

IMAPTEST_CASES = [
    "sort-subject.mbox",
    "thread.mbox",
    "thread-orderedsubject.mbox",
    "thread-orderedsubject2.mbox",
    *(f"thread{n}.mbox" for n in range(2, 9)),
]


def _imaptest_row(name: str) -> dict[str, str]:
    labels = corpus_path("dovecot-imaptest", "_labels", "expected.tsv")
    with labels.open(newline="") as f:
        rows = {row["mbox"]: row for row in csv.DictReader(f, delimiter="\t")}
    assert name in rows, f"{name} has no expected answer"
    return rows[name]


@pytest.mark.parametrize("name", IMAPTEST_CASES)
def test_imaptest_first_answer(name: str) -> None:
    """Our answer equals Dovecot's first THREAD / SORT answer for each imaptest mbox."""
    row = _imaptest_row(name)
    messages = read_mbox(corpus_path("dovecot-imaptest", "src", "tests", name))
    expected = re.sub(r"^\* (thread|sort) ", "", row["expected_first_response"], flags=re.I)
    # imaptest appends the first N messages ("messages: N" in the test script,
    # which the corpus does not carry) before the first command. The command
    # searches ALL, so the answer names every appended message: N is its
    # largest number, and the answer must name exactly 1..N.
    numbers = sorted(int(n) for n in re.findall(r"\d+", expected))
    count = numbers[-1]
    assert numbers == list(range(1, count + 1)), "every appended message is answered once"
    loaded = messages[:count]
    command = row["command"].lower()
    if command.startswith("thread references"):
        got = format_imap_thread(thread(loaded, mode="rfc5256"))
    elif command.startswith("thread orderedsubject"):
        got = format_imap_thread(thread(loaded, mode="orderedsubject"))
    elif command.startswith("sort (subject)"):
        ordered = sorted(loaded, key=lambda m: (subject_sort_key(m.subject), m.key))
        got = " ".join(str(m.key) for m in ordered)
    else:
        pytest.fail(f"unknown command {command!r}")
    assert got == expected


def _notmuch(name: str) -> tuple[list[dict[str, str]], list[ThreadInput], Path]:
    root = corpus_path("notmuch-corpora")
    with (root / "_labels" / f"{name}.threads.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    # notmuch keeps one message per Message-ID however many files carry it:
    # give threading the first file of each, as notmuch indexes them.
    inputs: dict[str | None, ThreadInput] = {}
    for row in rows:
        msg = read_file(root / row["file"], row["message_id"])
        assert msg.message_id == row["message_id"]
        inputs.setdefault(msg.message_id, msg)
    return rows, list(inputs.values()), root


@pytest.mark.parametrize("name", ["default", "lkml"])
def test_notmuch_threads(name: str) -> None:
    """Headers-only threading groups every message as notmuch does."""
    rows, messages, _ = _notmuch(name)
    expected: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        expected[row["thread"]].add(row["message_id"])
    for mode in ("references", "notmuch"):
        result = thread(messages, mode=mode)
        got = {frozenset(str(k) for k in group) for group in result.groups()}
        assert got == {frozenset(g) for g in expected.values()}, mode


@pytest.mark.parametrize("name", ["default", "lkml"])
def test_notmuch_parents(name: str) -> None:
    """Every message's parent equals notmuch's (empty: top level or under a ghost)."""
    rows, messages, _ = _notmuch(name)
    result = thread(messages, mode="notmuch")
    wrong = [
        (row["file"], result.parent[row["message_id"]], row["parent_message_id"])
        for row in rows
        if (result.parent[row["message_id"]] or "") != row["parent_message_id"]
    ]
    assert wrong == []
    assert len(rows) == {"default": 53, "lkml": 210}[name]


def test_notmuch_default_parents_in_references_mode() -> None:
    """Where no header is mangled, the RFC tree and notmuch's agree message by message."""
    rows, messages, _ = _notmuch("default")
    result = thread(messages, mode="references")
    for row in rows:
        assert (result.parent[row["message_id"]] or "") == row["parent_message_id"], row["file"]
