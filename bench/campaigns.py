"""Benchmark: campaign clustering (issue 16), quality and cost, then the pipeline with it on/off.

1. Quality: 100,000 generated contributions (20 campaigns of 500-10,000 edited copies and
   20,000 originals, bench/campaign_data.py) placed one by one with the index's own `place`
   (SQL on SQLite, committed every 64 like the pipeline's batches); pairwise precision and
   recall against the truth, time, and peak memory (resident set) printed.
2. Throughput: the pipeline's filing in this process (best of two runs each), then `mailbot
   run` (bench/pipeline.py's harness) given a burst of campaign copies, with [campaigns]
   enabled and disabled; messages per second and the ratio on/off.

    MAILBOT_SECRET=... .venv/bin/python bench/campaigns.py [--total 100000] [--originals 20000]
        [--messages 2000] [--skip-pipeline] [--postgresql]
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import os
import resource
import secrets
import tempfile
import time

from sqlalchemy import create_engine
from sqlmodel import Session, SQLModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.campaign_data import generate, pair_scores
from mailbot.campaigns.config import Campaigns
from mailbot.campaigns.index import place
from mailbot.campaigns.models import CampaignBand, CampaignMember

BATCH = 64


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(args: argparse.Namespace, work: Path) -> None:
    config = Campaigns(
        threshold=args.threshold or Campaigns().threshold,
        num_perm=args.num_perm or Campaigns().num_perm,
    )
    engine = create_engine(f"sqlite:///{work / 'campaigns.sqlite3'}")
    tables = [CampaignMember.__table__, CampaignBand.__table__]  # type: ignore[attr-defined]
    SQLModel.metadata.create_all(engine, tables=tables)
    t0 = time.perf_counter()
    data = list(
        generate(
            campaigns=args.campaigns,
            originals=args.originals,
            min_copies=args.min_copies,
            max_copies=args.max_copies,
            total=args.total,
        )
    )
    generated = time.perf_counter() - t0
    before = rss_mb()
    predicted: list[int] = []
    started = time.perf_counter()
    with Session(engine) as session:
        for n, (text, _) in enumerate(data, start=1):
            cluster = place(session=session, contribution_id=n, text=text, config=config)
            predicted.append(cluster if cluster is not None else -n)
            if n % BATCH == 0:
                session.commit()
        session.commit()
    elapsed = time.perf_counter() - started
    precision, recall = pair_scores(predicted, [t for _, t in data])
    sizes = sorted({c: predicted.count(c) for c in set(predicted)}.values(), reverse=True)
    print(
        f"generated {len(data)} texts in {generated:.1f} s (threshold {config.threshold}, "
        f"num_perm {config.num_perm})"
    )
    print(f"clustering: {elapsed:.1f} s, {elapsed / len(data) * 1e3:.2f} ms a contribution")
    print(f"  precision {precision:.4f}  recall {recall:.4f}")
    print(f"  clusters of 2+: {sum(s > 1 for s in sizes)}; biggest {sizes[:5]}")
    print(f"  peak memory (max RSS): {rss_mb():.0f} MB (before clustering {before:.0f} MB)")
    engine.dispose()


def throughput(args: argparse.Namespace) -> None:
    from bench.pipeline import SESSIONS, database, drive, start_bot, wait_acks

    os.environ.setdefault("MAILBOT_SECRET", secrets.token_hex(32))
    wanted = args.messages + 100
    made = generate(
        campaigns=4,
        originals=args.messages // 5,
        min_copies=100,
        max_copies=800,
        total=2 * wanted,
        seed=7,
    )
    texts = [t for t, _ in made][:wanted]
    assert len(texts) == wanted, len(texts)
    filing(args, texts)
    if args.skip_run:
        return
    rates = {}
    for enabled in ("true", "false"):
        os.environ["MAILBOT_CAMPAIGNS__ENABLED"] = enabled
        with tempfile.TemporaryDirectory(prefix="mailbot-bench-") as tmp:
            work = Path(tmp)
            url, drop = database(work, args.postgresql)
            bot, port = start_bot(work, url, ROOT)
            engine = create_engine(url)
            try:
                drive(port, [mail("warm", n, texts[n]) for n in range(100)], SESSIONS)
                wait_acks(engine, "warm", 100, 120)
                burst = [mail("burst", n, texts[100 + n]) for n in range(args.messages)]
                started = time.perf_counter()
                drive(port, burst, SESSIONS)
                rows = wait_acks(engine, "burst", args.messages, 900)
                rates[enabled] = len(rows) / (time.perf_counter() - started)
            finally:
                bot.terminate()
                bot.wait(60)
                engine.dispose()
                drop()
        print(
            f"pipeline, clustering {'on ' if enabled == 'true' else 'off'}: "
            f"{rates[enabled]:7.0f} acknowledged/s ({args.messages} messages)"
        )
    print(f"  ratio on/off: {rates['true'] / rates['false']:.2f}")


def filing(args: argparse.Namespace, texts: list[str]) -> None:
    """The pipeline's own work (parse, classify, file, answer), in this process: the same
    stored messages processed with clustering on and off, twice each, alternating (a busy
    machine then weighs on both alike)."""
    from mailbot.boot import make_app
    from mailbot.config import PROJECT_DIR, load_settings
    from mailbot.pipeline import process_pending
    from mailbot.receive import RawIn, store_raw_batch

    best: dict[str, float] = {}
    cpu_best: dict[str, float] = {}
    for enabled in ("true", "false", "true", "false"):
        with tempfile.TemporaryDirectory(prefix="mailbot-filing-") as tmp:
            server = {"database_url": f"sqlite:///{tmp}/m.sqlite3", "data_dir": f"{tmp}/var"}
            settings = load_settings(
                PROJECT_DIR / "config" / "mailbot.toml",
                environ={},
                overrides={"server": server, "campaigns": {"enabled": enabled}},
            )
            app = make_app(settings)
            raws = [mail("filing", n, t) for n, t in enumerate(texts)]
            store_raw_batch(app=app, items=[RawIn(raw=r, source="ingest") for r in raws[:20]])
            process_pending(app=app)  # warm: models loaded, caches filled
            store_raw_batch(app=app, items=[RawIn(raw=r, source="ingest") for r in raws[20:]])
            started, cpu = time.perf_counter(), time.process_time()
            while process_pending(app=app, limit=64):
                pass
            rate = (len(raws) - 20) / (time.perf_counter() - started)
            cpu_rate = (len(raws) - 20) / (time.process_time() - cpu)
            best[enabled] = max(best.get(enabled, 0.0), rate)
            cpu_best[enabled] = max(cpu_best.get(enabled, 0.0), cpu_rate)
            app.engine.dispose()
    # On a shared machine the wall clock measures the neighbours too; CPU time does not.
    on, off = cpu_best["true"], cpu_best["false"]
    print(f"filing in process, per CPU second: on {on:.0f}, off {off:.0f}, ratio {on / off:.2f}")
    print(f"filing in process: clustering on {best['true']:.0f}/s, off {best['false']:.0f}/s, "
          f"ratio {best['true'] / best['false']:.2f} ({len(texts) - 20} messages)")  # fmt: skip


def mail(tag: str, n: int, text: str) -> bytes:
    body = text.replace("\n", "\r\n")
    return (
        f"From: Person {n} <{tag}-{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Contribution {n}\r\nMessage-ID: <{tag}-{n}@bench.example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--originals", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--min-copies", type=int, default=500)
    parser.add_argument("--max-copies", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threshold", type=float, default=None, help="default: the config's")
    parser.add_argument("--num-perm", type=int, default=None, help="default: the config's")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-run", action="store_true", help="no `mailbot run` burst")
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    if not args.skip_quality:
        with tempfile.TemporaryDirectory(prefix="mailbot-campaigns-") as tmp:
            quality(args, Path(tmp))
    if not args.skip_pipeline:
        throughput(args)


if __name__ == "__main__":
    main()
