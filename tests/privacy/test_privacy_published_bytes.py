"""Every published byte, for many contributions with random names, addresses and choices
(name / anonymous / confidential / organisation, said by a subject tag in EN/FR/ES or a
`Publish:` line): the archive with its feeds, the mbox, CSV and JSON exports, the
synthesis in both formats and a digest in three languages. No participant's address
appears, no anonymous author's name, no confidential text; every `name` shows the name.

MAILBOT_PRIVACY_CONTRIBUTIONS sets the size (default 1000, as the issue asks: about 17 s on
SQLite and 23 s on PostgreSQL on a quiet machine)."""

from __future__ import annotations

import io
import itertools
import os
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.calendar.digest import build_digest
from mailbot.calendar.digest_mail import render_digest
from mailbot.models import Contribution
from mailbot.pipeline import process_pending
from mailbot.publish.export import export_csv, export_json, export_mbox
from mailbot.publish.site import build_archive
from mailbot.publish.synthesis import render_synthesis
from mailbot.receive import RawIn, store_raw_batch
from tests.support import file_text

SIZE = int(os.environ.get("MAILBOT_PRIVACY_CONTRIBUTIONS", "1000"))
SYLLABLES = "ba be bo da de do ka ke ko la le lo ma me mo na ne no ra re ro sa se so ta te to"
WORDS = (
    *("governance", "openness", "regions", "drafts", "meetings", "transparency", "capacity"),
    *("remote", "participation", "multilingual", "review", "timeline", "criteria", "access"),
)
TAGS = {
    "anonymous": ("[anonymous]", "[anonyme]", "[anónimo]"),
    "confidential": ("[confidential]", "[confidentiel]", "[confidencial]"),
}
ORGS = ("ISOC France", "Asociación Digital", "Civil Society Caucus", "Réseau Libre")


@dataclass
class Author:
    name: str
    address: str
    choice: str  # name | anonymous | confidential | organisation
    code: str  # a word only this contribution's text holds
    said: str  # tag | line | default


def unique_word(rng: random.Random, seen: set[str], parts: int) -> str:
    syllables = SYLLABLES.split()
    while True:
        word = "".join(rng.choice(syllables) for _ in range(parts))
        if word not in seen:
            seen.add(word)
            return word


def people(rng: random.Random, count: int) -> list[Author]:
    seen: set[str] = set()
    found = []
    for n in range(count):
        first = unique_word(rng, seen, 3).capitalize()
        last = unique_word(rng, seen, 4).capitalize()
        local = unique_word(rng, seen, 3)
        choice = rng.choice(("name", "anonymous", "confidential", "organisation"))
        said = "default" if choice in ("name", "organisation") else rng.choice(("tag", "line"))
        found.append(
            Author(
                name=f"{first} {last}",
                address=f"{local}.{n}@{rng.choice(('example.org', 'mail.example.net'))}",
                choice=choice,
                code=f"zq{unique_word(rng, seen, 4)}",
                said=said,
            )
        )
    return found


def raw_mail(rng: random.Random, n: int, a: Author, parent: str | None) -> bytes:
    subject = f"Proposal {n} on {rng.choice(WORDS)}" + (f" ({a.code})" if n % 2 else "")
    lines = [f"On {rng.choice(WORDS)}: the {a.code} approach should guide the group.", ""]
    lines.append(" ".join(rng.choice(WORDS) for _ in range(12)) + ".")
    if a.choice in ("anonymous", "confidential"):
        if a.said == "tag":
            subject = f"{rng.choice(TAGS[a.choice])} {subject}"
        else:
            lines += ["", f"{rng.choice(('Publish', 'Publier', 'Publicar'))}: {a.choice}"]
    if a.choice == "organisation":
        lines += ["", f"Organisation: {ORGS[n % len(ORGS)]}"]
    head = [
        f"From: {a.name} <{a.address}>",
        "To: contrib@consult.example.org",
        f"Subject: {subject}",
        f"Message-ID: <m{n}@mx.example.com>",
    ]
    if parent:
        head += [f"In-Reply-To: <{parent}>", f"References: <{parent}>"]
    head += ["Content-Type: text/plain; charset=utf-8", "", *lines, ""]
    return "\r\n".join(head).encode()


def file_all(app: App, authors: list[Author], rng: random.Random) -> None:
    items = []
    for n, a in enumerate(authors):
        parent = None
        if n > 10 and rng.random() < 0.3:  # a third answer an earlier one: threads
            k = rng.randrange(n)
            parent = f"m{k}@mx.example.com"
        # Filed as a bulk import: the same road, without the 1,000 receipts (not under test here).
        items.append(RawIn(raw=raw_mail(rng, n, a, parent), source="mbox"))
    for start in range(0, len(items), 250):
        store_raw_batch(app=app, items=items[start : start + 250])
    outcomes = process_pending(app=app)
    assert len(outcomes) == len(authors)
    assert {o.outcome for o in outcomes} == {"contribution"}, {o.reason for o in outcomes}


def published(app: App, out: Path) -> tuple[str, dict[str, str]]:
    """Every published byte as one lower-cased text, and each contribution's page."""
    build_archive(app=app, out=out)
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (out / "c").glob("*.html")}
    parts = [file_text(p) for p in sorted(out.rglob("*")) if p.is_file()]
    mbox, table, doc = io.BytesIO(), io.StringIO(), io.StringIO()
    export_mbox(app=app, stream=mbox)
    export_csv(app=app, stream=table)
    export_json(app=app, stream=doc)
    parts += [mbox.getvalue().decode("utf-8"), table.getvalue(), doc.getvalue()]
    parts += ["".join(render_synthesis(app=app, fmt=fmt)) for fmt in ("md", "html")]  # type: ignore[arg-type]
    now = app.clock.now()
    with Session(app.engine) as session:
        digest = build_digest(
            app=app, session=session, start=now - timedelta(days=7), end=now + timedelta(1), issue=1
        )
    assert digest.new > 0
    for lang in ("en", "fr", "es"):
        parts += list(render_digest(app=app, digest=digest, lang=lang))
    return "\n".join(parts).lower(), pages


def test_every_published_byte(app: App, tmp_path: Path) -> None:
    rng = random.Random(14)
    authors = people(rng, SIZE)
    file_all(app, authors, rng)
    with Session(app.engine) as session:
        rows = session.exec(select(Contribution).order_by(col(Contribution.id))).all()
        chosen = [(r.ref, r.publication, r.organisation) for r in rows]
    text, pages = published(app, tmp_path / "site")
    # Read once: every address-like string, every word and every pair of adjacent words.
    addresses = set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    words = re.findall(r"[^\W\d_]+", text)
    vocabulary, pairs = set(words), {f"{a} {b}" for a, b in itertools.pairwise(words)}

    by_choice: dict[str, int] = {}
    for a, (ref, publication, organisation) in zip(authors, chosen, strict=True):
        by_choice[a.choice] = by_choice.get(a.choice, 0) + 1
        expected = "name" if a.choice == "organisation" else a.choice
        assert publication == expected, (ref, a)
        assert a.address.lower() not in addresses, (ref, a.address)
        if a.choice == "anonymous":
            assert a.name.lower() not in pairs, (ref, a.name)
            assert a.code in pages[ref]  # published, without the name
        elif a.choice == "confidential":
            assert a.name.lower() not in pairs and a.code not in vocabulary, (ref, a)
            assert ref not in pages
        else:
            assert a.name in pages[ref], (ref, a.name)
            assert a.name.lower() in pairs
            if a.choice == "organisation":
                assert f"{a.name} ({organisation})" in pages[ref]
    participants = {a.address.split("@")[1] for a in authors}
    assert not {x for x in addresses if x.split("@")[1] in participants}
    assert f"{by_choice['confidential']} confidential (counted" in text  # the synthesis counts
    assert min(by_choice.values()) > SIZE // 10  # every kind of choice was exercised
