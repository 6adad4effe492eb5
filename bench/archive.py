"""Bench: build the static archive of 100,000 contributions with its Pagefind search index;
print time, peak memory and the index's size.

    .venv/bin/python bench/archive.py [--contributions 100000] [--keep]

Rows are inserted straight into a scratch SQLite (bulk, not through the pipeline). The build
runs in a child process so its peak RSS is its own; then a rebuild with nothing changed,
and a baseline: writing as many plain files of the same average size, as a ratio.
"""

# ruff: noqa: E402  (the path fix below must come before the other imports)
from __future__ import annotations

import os
import sys

# Run as a script, bench/ would come first on sys.path, where other benches' module names
# (bench/threading.py...) shadow the standard library: put the project root there instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailbot.config import PROJECT_DIR, load_settings

WORDS = tuple(
    " ".join(
        (
            "the working group should publish its minutes and hold open meetings with civil",
            "society les réunions doivent être publiques et le groupe doit rendre compte de ses",
            "travaux las reuniones deben ser públicas y el grupo debe rendir cuentas de su trabajo",
        )
    ).split()
)


def settings_for(workdir: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        PROJECT_DIR / "config" / "mailbot.toml",
        environ={},
        overrides={
            "server": {
                "database_url": f"sqlite:///{workdir / 'bench.sqlite3'}",
                "data_dir": str(workdir / "var"),
            }
        },
    )


def populate(workdir: Path, count: int) -> None:
    from sqlalchemy import insert

    from mailbot.boot import make_app
    from mailbot.models import Contribution, Participant, RawMessage

    app = make_app(settings_for(workdir))
    c = app.consultation
    rng = random.Random(8)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    topics = [t.slug for t in c.topics]
    people = max(1, count // 20)
    with app.engine.begin() as conn:
        conn.execute(
            insert(Participant),
            [
                {
                    "id": i + 1,
                    "email": f"p{i}@example.org",
                    "display_name": f"Person {i}",
                    "first_seen": start,
                    "language": None,
                    "digest_subscribed": False,
                    "bounce_score": 0.0,
                }
                for i in range(people)
            ],
        )
    thread_root: dict[int, int] = {}
    topic_of: dict[int, str] = {}
    chunk = 5000
    for base in range(0, count, chunk):
        raws, rows = [], []
        for i in range(base + 1, min(count, base + chunk) + 1):
            lang = ("en", "fr", "es")[i % 3]
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160)))
            when = start + timedelta(seconds=40 * i)
            reply = i > 10 and rng.random() < 0.6
            parent = rng.randint(max(1, i - 2000), i - 1) if reply else None
            root = thread_root[parent] if parent else i
            thread_root[i] = root
            topic = topic_of[root] if parent else topics[i % len(topics)]
            topic_of[i] = topic
            subject = f"Re: idea {root}" if parent else f"[{topic}] idea {i}"
            raw = (
                f"From: Person <p{i % people}@example.org>\nSubject: {subject}\n"
                f"Message-ID: <b{i}@example.org>\n\n{text}\n"
            ).encode()
            raws.append(
                {
                    "id": i,
                    "received_at": when,
                    "source": "bench",
                    "envelope_to": [],
                    "message_id": f"b{i}@example.org",
                    "content_sha256": hashlib.sha256(raw).hexdigest(),
                    "size": len(raw),
                    "raw": raw,
                    "state": "done",
                    "outcome": "contribution",
                }
            )
            html = f"<p>{text}</p><script>alert(1)</script>" if i % 20 == 0 else None
            attachments = (
                [
                    {
                        "name": "annex.pdf",
                        "type": "application/pdf",
                        "size": 12345,
                        "sha256": "0" * 64,
                    }
                ]
                if i % 33 == 0
                else []
            )
            rows.append(
                {
                    "id": i,
                    "consultation_id": c.id,
                    "ref": f"{c.ref_prefix}-{i:06d}",
                    "raw_id": i,
                    "participant_id": i % people + 1,
                    "topic": topic,
                    "topic_rule": "tag",
                    "needs_refile": False,
                    "message_id": f"b{i}@example.org",
                    "in_reply_to": f"b{parent}@example.org" if parent else None,
                    "references": [f"b{parent}@example.org"] if parent else [],
                    "subject": subject,
                    "author_name": None if i % 10 == 0 else f"Person {i % people}",
                    "language": lang,
                    "text": text,
                    "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
                    "html": html,
                    "attachments": attachments,
                    "sent_at": when,
                    "received_at": when,
                    "late": False,
                    "status": "withdrawn" if i % 97 == 0 else "published",
                    "thread_id": root,
                    "parent_id": parent,
                }
            )
        with app.engine.begin() as conn:
            conn.execute(insert(RawMessage), raws)
            conn.execute(insert(Contribution), rows)
    app.engine.dispose()


def build_child(workdir: Path, out: Path) -> None:
    """Run in the child process: one build, then print its figures as JSON."""
    from mailbot.boot import make_app
    from mailbot.publish.site import build_archive

    app = make_app(settings_for(workdir), migrate=False)
    began = time.perf_counter()
    result = build_archive(app=app, out=out)
    seconds = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_kb / 1024,
                "written": result.written,
                "unchanged": result.unchanged,
                "pages": result.pages,
                "contributions": result.contributions,
                "threads": result.threads,
                "search_seconds": result.search.seconds if result.search else 0.0,
                "search_bytes": result.search.size if result.search else 0,
                "search_files": sum(1 for p in result.search.path.rglob("*") if p.is_file())
                if result.search
                else 0,
            }
        )
    )


def run_child(workdir: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(workdir), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:  # show why: the child's own traceback, not just its exit status
        raise SystemExit(f"the build failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def baseline(target: Path, files: int, size: int) -> float:
    """Write `files` plain files of `size` bytes into two folders, as the archive does."""
    payload = b"x" * size
    began = time.perf_counter()
    for sub in ("c", "t"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (target / ("c" if i % 5 else "t") / f"page-{i:06d}.html").write_bytes(payload)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributions", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        build_child(Path(args.child[0]), Path(args.child[1]))
        return
    workdir = Path(tempfile.mkdtemp(prefix="mailbot-bench-archive-"))
    try:
        began = time.perf_counter()
        populate(workdir, args.contributions)
        print(
            f"inserted {args.contributions} contributions in "
            f"{time.perf_counter() - began:.1f} s ({workdir})"
        )
        out = workdir / "site"
        first = run_child(workdir, out)
        print(
            f"build:   {first['contributions']} published contributions, "
            f"{first['threads']} threads, {first['pages']} pages written in "
            f"{first['seconds']:.1f} s; peak RSS {first['peak_mb']:.0f} MB"
        )
        print(
            f"search:  Pagefind index in {first['search_seconds']:.1f} s (part of the build), "
            f"{first['search_bytes'] / 1e6:.1f} MB in {first['search_files']:.0f} files"
        )
        again = run_child(workdir, out)
        print(
            f"rebuild (nothing new): {again['written']} written, {again['unchanged']} "
            f"unchanged in {again['seconds']:.1f} s; peak RSS {again['peak_mb']:.0f} MB"
        )
        pages = [p for p in out.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in pages)
        plain = baseline(workdir / "baseline", len(pages), total // len(pages))
        print(
            f"baseline: {len(pages)} plain files of {total // len(pages)} bytes "
            f"({total / 2**20:.0f} MB) in {plain:.1f} s; build / baseline = "
            f"{first['seconds'] / plain:.1f}x"
        )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
