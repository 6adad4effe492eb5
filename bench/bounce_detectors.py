"""Bench: mailbot's bounce rules vs flufl.bounce (GNU Mailman's detector) on the corpus.

    .venv/bin/python bench/bounce_detectors.py

Positives and negatives are the labelled files of flufl-bounce/ (tests/expected_detectors.tsv)
and perl-bounceparser/ (category in the file name), read as tests/hostile/hostile_corpus.py
labels them; further negatives are the people's mail of notmuch-corpora/ and talon/. For
each detector: recall, false positives, recall of the failed addresses (flufl-bounce files),
and the time as a ratio against mailbot's rules. Complaints (ARF) are counted apart.
"""

# ruff: noqa: E402  (the path fix below must come before the other imports)
from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import email
import email.policy
import logging
import time
from collections.abc import Callable

from flufl.bounce import all_failures

from mailbot.classify import classify
from mailbot.config import PROJECT_DIR, load_settings
from mailbot.hostile.dsn import failures
from mailbot.parse import parse
from mailbot.road import default_road
from tests.hostile.hostile_corpus import flufl_labels, perl_labels
from tests.support import CORPUS

SETTINGS = load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={})
RULES = default_road().rules
COMPLAINTS = (
    "postal-mime/test/fixtures/arf.eml",
    "flanker/tests/fixtures/messages/complaints/aol.eml",
    "flanker/tests/fixtures/messages/complaints/yahoo.eml",
)


def cases() -> list[tuple[str, bytes, bool, set[str] | None]]:
    """(name, raw, is a bounce, expected addresses or None when unlabelled)."""
    out: list[tuple[str, bytes, bool, set[str] | None]] = []
    data = CORPUS / "flufl-bounce" / "tests" / "data"
    for name, (bounce, _, addresses) in flufl_labels(CORPUS).items():
        out.append((f"flufl/{name}", (data / name).read_bytes(), bounce, addresses))
    perl = CORPUS / "perl-bounceparser" / "t" / "corpus"
    for name, (bounce, _) in perl_labels(CORPUS).items():
        out.append((f"perl/{name}", (perl / name).read_bytes(), bounce, None))
    for folder in ("notmuch-corpora", "talon"):
        for path in sorted((CORPUS / folder).rglob("*")):
            if path.is_file() and path.name != "LICENSE" and path.stat().st_size < 200_000:
                raw = path.read_bytes()
                if raw[:200].count(b":") >= 2:  # looks like a message
                    out.append((f"{folder}/{path.name}", raw, False, None))
    return out


def ours(raw: bytes) -> tuple[bool, set[str]]:
    if classify(parse(raw), SETTINGS, rules=RULES).kind != "bounce":
        return False, set()
    return True, {f.address for f in failures(raw) if f.address}


def flufl(raw: bytes) -> tuple[bool, set[str]]:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    try:
        temporary, permanent = all_failures(msg)
    except Exception:
        return False, set()
    found = {a.decode() if isinstance(a, bytes) else str(a) for a in temporary | permanent}
    return bool(found), {a.lower() for a in found}


def both(raw: bytes) -> tuple[bool, set[str]]:
    a, b = ours(raw), flufl(raw)
    return a[0] or b[0], a[1] | b[1]


DETECTORS: dict[str, Callable[[bytes], tuple[bool, set[str]]]] = {
    "mailbot rules": ours,
    "flufl.bounce": flufl,
    "either": both,
}


def main() -> None:
    logging.disable(logging.CRITICAL)  # flufl.bounce logs every part it cannot read
    data = cases()
    positives = sum(1 for _, _, b, _ in data if b)
    print(f"{len(data)} messages, {positives} bounces, {len(data) - positives} not bounces")
    base = 0.0
    for name, detect in DETECTORS.items():
        started = time.perf_counter()
        tp = fp = expected = hit = 0
        false_alarms: list[str] = []
        for case, raw, bounce, addresses in data:
            said, found = detect(raw)
            tp += bounce and said
            if said and not bounce:
                fp += 1
                false_alarms.append(case)
            if bounce and addresses:
                expected += len(addresses)
                hit += len(addresses & found)
        elapsed = time.perf_counter() - started
        base = base or elapsed
        print(
            f"{name:<14} recall {tp}/{positives} = {tp / positives:.3f}  false positives {fp}"
            f"  address recall {hit}/{expected} = {hit / (expected or 1):.3f}"
            f"  time x{elapsed / base:.2f}  {'; '.join(false_alarms[:6])}"
        )
    found = sum(
        classify(parse((CORPUS / rel).read_bytes()), SETTINGS, rules=RULES).kind == "complaint"
        for rel in COMPLAINTS
    )
    print(f"complaints (ARF samples): {found}/{len(COMPLAINTS)} kept as complaints")


if __name__ == "__main__":
    main()
