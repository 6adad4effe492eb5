"""Bench: IMAP intake rate of the poller against a bare batched FETCH of the same folder.

    .venv/bin/python bench/imap_intake.py [--messages 5000] [--batch-size 200] [--database-url URL]

Loads N messages of about 2 KB into a throw-away Dovecot (tests/dovecot.py), then measures
1. the baseline: `UID FETCH (BODY.PEEK[])` of the whole folder in batches, bytes thrown away;
2. intake: `Poller.poll_once()` — fetch, durable store (one commit per batch), position,
   MOVE to Processed — which is what the issue asks not to be IMAP-bound;
3. the pipeline afterwards (parse, classify, file, acknowledge), for the end-to-end rate.
Prints msg/s for each and the ratio baseline / intake. Default database: a scratch SQLite.
"""

from __future__ import annotations

import os
import sys

# Run as a script, bench/ would come first on sys.path, where other benches' module names
# (bench/threading.py...) shadow the standard library: put the project root there instead.
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from mailbot.boot import make_app  # noqa: E402
from mailbot.config import PROJECT_DIR, load_settings  # noqa: E402
from mailbot.imap.config import imap_accounts  # noqa: E402
from mailbot.imap.poller import Poller  # noqa: E402
from mailbot.pipeline import process_pending  # noqa: E402
from tests.dovecot import Dovecot, sample_message  # noqa: E402

PARAGRAPH = (
    "The working group should publish its minutes, hold open meetings and report on how "
    "the contributions it received were taken into account in its final report.\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--database-url", help="default: a scratch SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    work.chmod(0o755)  # Dovecot's own users must reach its files below
    server = Dovecot.create(work / "dovecot")
    try:
        run(server, work, args.messages, args.batch_size, args.database_url)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(server: Dovecot, work: Path, n: int, batch: int, database_url: str | None) -> None:
    raws = [sample_message(i, body=PARAGRAPH * 12) for i in range(n)]
    began = time.perf_counter()
    server.append("INBOX", *raws)
    size, took = sum(map(len, raws)) / n, time.perf_counter() - began
    print(f"loaded {n} messages of {size:.0f} B into Dovecot in {took:.2f} s")

    with server.client() as imap:
        imap.select_folder("INBOX", readonly=True)
        began = time.perf_counter()
        uids = imap.search("ALL")
        for start in range(0, len(uids), batch):
            imap.fetch(uids[start : start + batch], ["BODY.PEEK[]"])
        baseline = time.perf_counter() - began

    settings = load_settings(
        PROJECT_DIR / "config" / "mailbot.toml",
        environ={},
        overrides={
            "server": {
                "database_url": database_url or f"sqlite:///{work / 'mailbot.sqlite3'}",
                "data_dir": str(work / "var"),
                "imap_url": server.url(),
            },
            "imap": {"cafile": str(server.cafile), "batch_size": batch},
        },
    )
    app = make_app(settings)
    (account,) = imap_accounts(settings)
    began = time.perf_counter()
    tally = Poller(app=app, account=account).poll_once()
    intake = time.perf_counter() - began
    assert tally.stored == n, tally
    began = time.perf_counter()
    outcomes = process_pending(app=app)
    pipeline = time.perf_counter() - began
    assert len(outcomes) == n

    print(f"batched FETCH BODY.PEEK[] (baseline): {n / baseline:9.0f} msg/s")
    ratio = baseline / intake
    print(f"intake: fetch + store + MOVE:          {n / intake:9.0f} msg/s  "
          f"(ratio to baseline {ratio:.2f}: {1 / ratio:.1f}x its time)")  # fmt: skip
    print(f"pipeline afterwards:                   {n / pipeline:9.0f} msg/s")
    print(f"end to end:                            {n / (intake + pipeline):9.0f} msg/s  "
          f"on {app.engine.dialect.name}, batches of {batch}")  # fmt: skip


if __name__ == "__main__":
    main()
