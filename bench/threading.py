"""Bench: thread 100,000 generated messages arriving in shuffled order; print msg/s.

    .venv/bin/python bench/threading.py [--count N] [--mode MODE] [--repeat R]
    .venv/bin/python bench/threading.py --pipeline 2000   # incremental, through the pipeline

Conversations are trees of 1-60 messages with "Re:"/"AW:"/"TR:" subjects;
some replies lost their References (only the subject is left), some keep the
last one or two ids, some only In-Reply-To, and a few parents never arrive.
The baseline is building a dict of the same Message-IDs: the cheapest pass
over the input there is, so the ratio says what threading costs on top.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and its name
# would then shadow the standard library's `threading` for every import below.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

from mailbot.threads import ThreadInput, thread  # noqa: E402

PREFIXES = ("Re: ", "RE: ", "AW: ", "TR: ", "Re: Re: ", "SV: ", "RV: ")
WORDS = ("budget", "bike lanes", "school meals", "rents", "night buses", "parks", "taxes")
TOPICS = ("budget", "transport", "housing", "schools")


def generate(count: int, seed: int = 1) -> list[ThreadInput]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    out: list[ThreadInput] = []
    n = 0
    while n < count:
        subject = f"{rng.choice(WORDS).capitalize()} {n}"
        topic = rng.choice(TOPICS)
        size = min(count - n, rng.choice((1, 1, 2, 3, 4, 6, 10, 20, 60)))
        chains: list[tuple[str, ...]] = []
        for _ in range(size):
            n += 1
            mid = f"{n}.{seed}@bench.example"
            when = start + timedelta(seconds=n * 13 + rng.randrange(13))
            if not chains:
                chains.append((mid,))
                out.append(ThreadInput(n, mid, None, (), subject, when, topic))
                continue
            parent = chains[rng.randrange(len(chains))]
            chains.append((*parent, mid))
            refs: tuple[str, ...] = parent
            irt: str | None = parent[-1]
            roll = rng.random()
            if roll < 0.05:
                refs, irt = (), None  # headers stripped: the subject is all
            elif roll < 0.15:
                refs = parent[-rng.randint(1, 2) :]  # truncated References
            elif roll < 0.20:
                refs = ()  # In-Reply-To only
            if rng.random() < 0.01:
                continue  # this message never arrives: its replies get a ghost
            out.append(ThreadInput(n, mid, irt, refs, rng.choice(PREFIXES) + subject, when, topic))
    return out


def _raw(m: ThreadInput) -> bytes:
    from email.utils import format_datetime

    assert m.date is not None
    head = [
        f"From: p{int(str(m.key)) % 97}@bench.example",
        "To: contrib@consult.example.org",
        f"Subject: {m.subject}",
        f"Message-ID: <{m.message_id}>",
        f"Date: {format_datetime(m.date)}",
    ]
    if m.in_reply_to:
        head.append(f"In-Reply-To: <{m.in_reply_to}>")
    if m.references:
        head.append("References: " + " ".join(f"<{r}>" for r in m.references))
    return ("\r\n".join(head) + f"\r\n\r\nMessage {m.key}.\r\n").encode()


def pipeline(count: int, mode: str) -> None:
    """Each message stored and processed on its own (SQLite file), in shuffled order; the
    threading step is timed apart. Halves are compared: the cost must not grow with n."""
    import logging
    import tempfile
    from dataclasses import replace

    from mailbot.boot import make_app
    from mailbot.clock import FrozenClock
    from mailbot.config import PROJECT_DIR, Threads, load_settings
    from mailbot.pipeline import process_one
    from mailbot.receive import RawIn, store_raw_batch

    logging.disable(logging.WARNING)
    tmp = tempfile.mkdtemp(prefix="bench-threads-")
    settings = load_settings(
        PROJECT_DIR / "config" / "mailbot.toml", environ={},
        overrides={"server": {"database_url": f"sqlite:///{tmp}/bench.sqlite3", "data_dir": tmp}},
    )  # fmt: skip
    settings = settings.model_copy(update={"threads": Threads(mode=mode)})  # type: ignore[arg-type]
    app = make_app(settings, clock=FrozenClock())
    spent = [0.0]

    def timed(step):  # type: ignore[no-untyped-def]
        def run(**kw):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            step(**kw)
            spent[0] += time.perf_counter() - t

        return run

    steps = tuple(
        (name, timed(step) if name == "threading" else step) for name, step in app.road.filing_steps
    )
    app = replace(app, road=replace(app.road, filing_steps=steps))
    messages = generate(count)
    random.Random(2).shuffle(messages)
    half = len(messages) // 2
    for label, part in (("first half", messages[:half]), ("second half", messages[half:])):
        spent[0] = 0.0
        t0 = time.perf_counter()
        for m in part:
            (stored,) = store_raw_batch(app=app, items=[RawIn(raw=_raw(m), source="ingest")])
            process_one(app=app, raw_id=stored.raw_id)
        total = time.perf_counter() - t0
        print(
            f"pipeline {label}: {len(part):,} msgs, {len(part) / total:,.0f} msg/s end to end; "
            f"threading step {spent[0] / len(part) * 1000:.1f} ms/msg"
        )
    app.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--mode", default="consultation")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pipeline",
        type=int,
        default=0,
        metavar="N",
        help="instead: N messages through the real pipeline, one at a time",
    )
    args = parser.parse_args()
    if args.pipeline:
        pipeline(args.pipeline, args.mode)
        return
    messages = generate(args.count)
    random.Random(2).shuffle(messages)  # arrival order is not date order

    best_base = best = float("inf")
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ids = {m.message_id: m.key for m in messages}
        best_base = min(best_base, time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = thread(messages, mode=args.mode, window=timedelta(days=14))
        best = min(best, time.perf_counter() - t0)
    assert result is not None and len(ids) == len(messages)
    rate = len(messages) / best
    print(f"{len(messages):,} messages, mode {args.mode}: {len(result.threads):,} threads")
    print(f"threading:  {best:.3f} s  {rate:,.0f} msg/s (best of {args.repeat})")
    print(f"dict of Message-IDs: {best_base:.4f} s; threading costs {best / best_base:.0f}x that")


if __name__ == "__main__":
    main()
