"""Benchmark: the listener's group commit beside a busy pipeline, per write-turn policy.

A pipeline child process (niced, as in `mailbot run`) files a backlog while this process
commits groups of 8 deliveries back to back (8 SMTP sessions in a burst). Printed per
policy, all in one run: the group commit's latency (what every 250 waits for), deliveries
stored per second, and messages filed per second, as ratios of the first policy.

    .venv/bin/python bench/write_turn.py [--backlog 1500] [--seconds 5] [--rounds 1]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (threading.py): never import from here.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import text  # noqa: E402

from mailbot import pipeline  # noqa: E402
from mailbot.boot import make_app  # noqa: E402
from mailbot.config import PROJECT_DIR, Settings, load_settings  # noqa: E402
from mailbot.db import make_engine  # noqa: E402
from mailbot.receive import RawIn, store_raw_batch  # noqa: E402

# name, TURN, MIN_TURN, durable: with MIN_TURN == TURN the pipeline ignores a waiting
# listener; durable=False: the pipeline's commits do not wait for the disk (`worker.py`).
POLICIES = [
    ("0.2 s turns, no yield (before)", 0.2, 0.2, True),
    ("yield after 0.02 s, durable", 0.2, 0.02, True),
    ("yield after 1 message", 0.2, 0.0, False),
    ("yield after 0.005 s", 0.2, 0.005, False),
    ("yield after 0.01 s", 0.2, 0.01, False),
    ("yield after 0.02 s (default)", 0.2, 0.02, False),
]
GROUP = 8


def settings_for(workdir: Path) -> Settings:
    server = {
        "database_url": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "data_dir": str(workdir / "var"),
        "secret": "bench-write-turn-0123456789abcdef0123456789",
    }
    return load_settings(
        PROJECT_DIR / "config" / "mailbot.toml", environ={}, overrides={"server": server}
    )


def mail(tag: str, n: int) -> RawIn:
    body = "".join(f"Point {i}: publish the working papers.\r\n" for i in range(16))
    raw = (
        f"From: P {n} <{tag}-{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Contribution {n}\r\nMessage-ID: <{tag}-{n}@bench.example.org>\r\n\r\n{body}"
    ).encode()
    return RawIn(raw=raw, source="smtp")


def run_pipeline(workdir: Path, turn: float, min_turn: float, durable: bool, stop: Any) -> None:
    os.nice(10)  # as `mailbot run` runs it
    pipeline.TURN, pipeline.MIN_TURN = turn, min_turn
    settings = settings_for(workdir)
    app = make_app(settings, migrate=False)
    app = replace(app, engine=make_engine(settings.server.db_url, durable=durable))
    while not stop.is_set():
        if not pipeline.process_pending(app=app, limit=200):
            time.sleep(0.01)
    app.engine.dispose()


def measure(
    turn: float, min_turn: float, durable: bool, backlog: int, seconds: float
) -> tuple[float, ...]:
    with tempfile.TemporaryDirectory(prefix="mailbot-turn-") as tmp:
        workdir = Path(tmp)
        app = make_app(settings_for(workdir))
        for start in range(0, backlog, 256):
            items = [mail("backlog", n) for n in range(start, min(backlog, start + 256))]
            store_raw_batch(app=app, items=items)
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        child = ctx.Process(target=run_pipeline, args=(workdir, turn, min_turn, durable, stop))
        child.start()
        time.sleep(1.5)  # the child imports and starts filing
        waits: list[float] = []
        sent = 0
        begun = time.perf_counter()
        while time.perf_counter() - begun < seconds:
            started = time.perf_counter()
            store_raw_batch(app=app, items=[mail("live", sent + k) for k in range(GROUP)])
            waits.append(time.perf_counter() - started)
            sent += GROUP
        elapsed = time.perf_counter() - begun
        with app.engine.connect() as conn:
            filed = conn.execute(text("SELECT count(*) FROM contribution")).scalar_one()
        stop.set()
        child.join(30)
        app.engine.dispose()
    waits.sort()
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    return statistics.median(waits), p99, sent / elapsed, filed / (elapsed + 1.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    base: tuple[float, ...] | None = None
    for _ in range(args.rounds):
        for name, turn, min_turn, durable in POLICIES:
            p50, p99, stored, filed = measure(turn, min_turn, durable, args.backlog, args.seconds)
            base = base or (p50, p99, stored, filed)
            print(
                f"{name:32} group commit p50 {p50 * 1000:6.1f} ms p99 {p99 * 1000:6.1f} ms;"
                f" stored {stored:6.0f}/s ({stored / base[2]:4.2f}x);"
                f" filed {filed:5.0f}/s ({filed / base[3]:4.2f}x)",
                flush=True,
            )


if __name__ == "__main__":
    main()
