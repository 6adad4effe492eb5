"""Bench: thread 100,000 generated messages arriving in shuffled order; print msg/s.

    .venv/bin/python bench/threading.py [--count N] [--mode MODE] [--repeat R]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--mode", default="consultation")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
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
