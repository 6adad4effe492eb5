"""Benchmark: this checkout against a baseline checkout, in alternating runs of pipeline.py.

On a shared 2-core machine whose speed drifts by a third within minutes, one run of each
code says little. This runs `bench/pipeline.py` (burst only) for the baseline and for this
checkout in ABBA order, `--rounds` times each, and prints each run, the medians, and the
median of the per-pair ratios (this / baseline), which a drift slower than one pair cancels.

    .venv/bin/python bench/pair.py --baseline DIR [--rounds 3] [--messages 20000]
        [--distinct] [--postgresql]    # DIR: `git worktree add /tmp/base <commit>`
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

# bench/threading.py would shadow the standard library's threading when bench/ heads sys.path.
_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import re
import statistics
import subprocess

ROOT = Path(__file__).resolve().parent.parent
# What each run prints, as (name, pattern of its number).
FIGURES = {
    "acks/s": r"(\d+) acknowledged/s end to end",
    "intake": r"ratio (\d+\.\d+)",
    "acks/s after": r"after \([\d.]+ s\): (\d+)/s",
    "pipeline ms": r"pipeline (\d+\.\d+)",
}


def run(code: Path, extra: list[str]) -> dict[str, float]:
    """One burst of bench/pipeline.py against `code`; its figures."""
    command = [sys.executable, str(ROOT / "bench" / "pipeline.py"), "--code", str(code)]
    out = subprocess.run(
        [*command, "--rates", "", *extra], capture_output=True, text=True, check=True
    ).stdout
    found = {name: re.search(pattern, out) for name, pattern in FIGURES.items()}
    missing = [name for name, match in found.items() if match is None]
    if missing:
        raise SystemExit(f"no {missing} in the output of {code}:\n{out}")
    return {name: float(match.group(1)) for name, match in found.items() if match}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="mailbot checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--distinct", action="store_true")
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    extra = ["--messages", str(args.messages)]
    extra += ["--distinct"] * args.distinct + ["--postgresql"] * args.postgresql
    codes = {"baseline": args.baseline.resolve(), "this": ROOT}
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    for round_ in range(args.rounds):
        order = ["baseline", "this"] if round_ % 2 == 0 else ["this", "baseline"]  # ABBA
        for name in order:
            figures = run(codes[name], extra)
            runs[name].append(figures)
            shown = ", ".join(f"{k} {v:g}" for k, v in figures.items())
            print(f"round {round_ + 1} {name:8}: {shown}", flush=True)
    for figure in FIGURES:
        base = [r[figure] for r in runs["baseline"]]
        this = [r[figure] for r in runs["this"]]
        ratios = sorted(t / b for t, b in zip(this, base, strict=True))
        print(
            f"{figure:13} baseline median {statistics.median(base):8.2f}, this"
            f" {statistics.median(this):8.2f}; ratio this/baseline median"
            f" {statistics.median(ratios):.2f} (pairs {ratios[0]:.2f}-{ratios[-1]:.2f})"
        )


if __name__ == "__main__":
    main()
