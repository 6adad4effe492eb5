"""Reading ../shared/corpus for the hostile-mail tests (in place, never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

from mailbot.cli import _read_inputs

# Hand-read files of flufl-bounce that are not bounces (flufl uses them as negative cases:
# every detector must find nothing), and perl-bounceparser files whose name is no bounce
# category. Everything else in both folders is a labelled bounce (bounce_01.txt is missing
# from expected_detectors.tsv but is a JetMail "mail box space not enough" failure).
FLUFL_NOT_BOUNCES = {
    "groupwise_03.txt": "a person's reply (Spanish), no failure in it",
    "qmail_08.txt": "an auto-reply, Subject 'Auto reply'",
}
PERL_NOT_BOUNCES = {
    "autoreply.msg": "autoreply",
    "aol-vacation.msg": "autoreply",
    "polish-autoreply.msg": "autoreply",
    # named warning-*, but the message is a Lotus Notes out-of-office reply
    # ("AUTO: Smith, John is out of the office.") — an auto-reply, not a delivery warning
    "warning-6.msg": "autoreply",
    "bluebottle.msg": "challenge-response",
    "boxbe-cr.msg": "challenge-response",
    "boxbe-cr2.msg": "challenge-response",
    "spam-with-image.msg": "spam",
    "spam-with-badly-parsed-email.msg": "spam",
    "spam-bogus-email-in-report.msg": "spam",
    "spam-lots-of-bogus-addresses.msg": "spam",
}


def manifest(root: Path) -> list[dict[str, str]]:
    with (root / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def corpus_inputs(root: Path) -> tuple[list[str], list[str], dict[str, bytes]]:
    """(single-message files, mbox files, bytes of every MANIFEST entry by its path)."""
    singles: list[str] = []
    boxes: dict[str, list[bytes]] = {}
    by_path: dict[str, bytes] = {}
    for row in manifest(root):
        path = row["path"]
        if "#" in path:
            name, _, number = path.partition("#")
            if name not in boxes:  # the very bytes `mailbot ingest --mbox` stores
                boxes[name] = [raw for _, raw in _read_inputs([str(root / name)], mbox=True)]
            by_path[path] = boxes[name][int(number) - 1]
        else:
            singles.append(str(root / path))
            by_path[path] = (root / path).read_bytes()
    return singles, [str(root / name) for name in boxes], by_path


def flufl_labels(root: Path) -> dict[str, tuple[bool, bool | None, set[str]]]:
    """file -> (is a bounce, is temporary, expected addresses)."""
    data = root / "flufl-bounce" / "tests" / "data"
    rows: dict[str, tuple[bool, set[str]]] = {}
    with (root / "flufl-bounce" / "tests" / "expected_detectors.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            temporary, addresses = rows.get(row["file"], (False, set()))
            rows[row["file"]] = (
                temporary or row["is_temporary_failure"] == "true",
                addresses | {a.lower() for a in row["expected_addresses"].split()},
            )
    labels: dict[str, tuple[bool, bool | None, set[str]]] = {}
    for path in sorted(data.iterdir()):
        temporary, addresses = rows.get(path.name, (False, set()))
        bounce = path.name not in FLUFL_NOT_BOUNCES
        labels[path.name] = (bounce, temporary if bounce else None, addresses)
    return labels


def perl_labels(root: Path) -> dict[str, tuple[bool, bool | None]]:
    """file -> (is a bounce, is temporary); the category is the file name."""
    corpus = root / "perl-bounceparser" / "t" / "corpus"
    labels: dict[str, tuple[bool, bool | None]] = {}
    for path in sorted(corpus.glob("*.msg")):
        bounce = path.name not in PERL_NOT_BOUNCES
        labels[path.name] = (bounce, path.name.startswith("warning-") if bounce else None)
    return labels
