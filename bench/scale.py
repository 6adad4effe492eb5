"""Benchmark: filed and acknowledged messages per second with 1, 2 and 3 pipeline processes
(`mailbot run --role pipeline`) on one PostgreSQL, with one sender process beside them.

For each count of pipelines: a fresh schema, the pipelines and the sender started and idle,
then N contributions (a third of them replies into shared threads) stored at once (as the
listeners would have), and the clock runs until every one is filed (a contribution row) and
acknowledged (its receipt handed to the outbox maildir). Prints msg/s, the ratio against the
1-pipeline run, and the CPU split: the pipeline processes, the sender, and the PostgreSQL
backends of this run (found by application_name), against the wall time times the cores.

    .venv/bin/python bench/scale.py [--messages 1000] [--pipelines 1,2,3]
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

# bench/threading.py would shadow the standard library's threading when bench/ heads sys.path.
_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import os
import tempfile
import time
import uuid

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.boot import make_app
from mailbot.receive import RawIn, store_raw_batch
from tests.scale.cluster import Cluster, base_env, messages
from tests.support import make_settings, wait_for

PG_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICK


def backend_cpu(engine: object, tag: str) -> float:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :tag"), {"tag": tag}
        ).scalars()
        return sum(cpu_seconds(pid) for pid in pids)


def counts(engine: object) -> tuple[int, int]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        filed = conn.execute(text("SELECT count(*) FROM contribution")).scalar_one()
        acked = conn.execute(
            text("SELECT count(*) FROM outbox_message WHERE kind = 'ack' AND status = 'sent'")
        ).scalar_one()
    return int(filed), int(acked)


def one_run(pipelines: int, count: int, work: Path) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    tag = f"mailbot-{schema}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={tag}"
    data = work / schema
    app = make_app(make_settings(url, data))
    env = base_env(url, data)
    cluster = Cluster()
    for i in range(pipelines):
        cluster.add(f"pipeline{i + 1}", "pipeline", env=env)
    cluster.add("sender", "sender", env=env)
    cluster.start()
    try:
        wait_for(lambda: _alive(app.engine) >= pipelines + 1, timeout=120)
        mails = [RawIn(raw=raw, source="smtp") for _, raw in messages(count)]
        before = {m.name: cpu_seconds(m.proc.pid) for m in cluster.members if m.proc}
        pg_before = backend_cpu(admin, tag)
        started = time.monotonic()
        store_raw_batch(app=app, items=mails)
        filed_at = acked_at = None
        while acked_at is None:
            filed, acked = counts(app.engine)
            now = time.monotonic() - started
            if filed_at is None and filed >= count:
                filed_at = now
            if acked >= count:
                acked_at = now
            time.sleep(0.1)
        after = {m.name: cpu_seconds(m.proc.pid) for m in cluster.members if m.proc}
        pg = backend_cpu(admin, tag) - pg_before
    finally:
        cluster.stop()
        app.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    pipe = sum(after[k] - before[k] for k in after if k.startswith("pipeline"))
    return {
        "filed_s": filed_at or 0.0,
        "acked_s": acked_at,
        "pipelines_cpu": pipe,
        "sender_cpu": after["sender"] - before["sender"],
        "postgres_cpu": pg,
    }


def _alive(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT count(*) FROM heartbeat")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--pipelines", default="1,2,3")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.messages} contributions, {cores} cores, load {os.getloadavg()[0]:.1f}")
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mailbot-bench-scale-") as work:
        for n in [int(x) for x in args.pipelines.split(",")]:
            r = one_run(n, args.messages, Path(work))
            filed, acked = args.messages / r["filed_s"], args.messages / r["acked_s"]
            base = base or {"filed": filed, "acked": acked}
            wall = r["acked_s"] * cores
            per = {k: 1000 * r[k] / args.messages for k in ("pipelines_cpu", "sender_cpu")}
            pg = 1000 * r["postgres_cpu"] / args.messages
            print(
                f"{n} pipeline(s): filed {filed:6.1f} msg/s (x{filed / base['filed']:.2f}), "
                f"acknowledged {acked:6.1f} msg/s (x{acked / base['acked']:.2f}); CPU "
                f"pipelines {r['pipelines_cpu']:.1f} s, sender {r['sender_cpu']:.1f} s, "
                f"postgres {r['postgres_cpu']:.1f} s of {wall:.1f} core-s; per message "
                f"{per['pipelines_cpu']:.0f} + {per['sender_cpu']:.0f} + {pg:.0f} ms "
                f"(load now {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
