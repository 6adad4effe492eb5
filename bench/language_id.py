"""Benchmark: language identification on the 22-language set in tests/campaigns, py3langid
(what mailbot uses) against lingua in its low- and high-accuracy modes.

lingua (lingua-language-detector) is not a dependency of mailbot: install it in the venv
to run its rows (`pip install lingua-language-detector`); without it they are skipped.

    .venv/bin/python bench/language_id.py [--rounds 20]
"""

from __future__ import annotations

# ruff: noqa: E402  (the sys.path fix below must run before the standard imports)
import sys
from pathlib import Path

_BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(_BENCH)]

import argparse
import resource
import subprocess
import time
from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.campaigns.language_samples import SAMPLES


def measure(name: str, build: Callable[[], Callable[[str], str | None]], rounds: int) -> None:
    started = time.perf_counter()
    detect = build()
    detect("warm up: load the model")
    load = time.perf_counter() - started
    long_ok = sum(detect(long) == lang for lang, (long, _) in SAMPLES.items())
    short_ok = sum(detect(short) == lang for lang, (_, short) in SAMPLES.items())
    started = time.perf_counter()
    for _ in range(rounds):
        for long, short in SAMPLES.values():
            detect(long)
            detect(short)
    each = (time.perf_counter() - started) / (rounds * 2 * len(SAMPLES))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name:14} long {long_ok}/{len(SAMPLES)}  short {short_ok}/{len(SAMPLES)}  "
        f"{each * 1e3:6.2f} ms a text  load {load:5.2f} s  max RSS {rss:5.0f} MB"
    )


def py3langid() -> Callable[[str], str | None]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: str(ident.classify(text)[0])


def lingua(low: bool) -> Callable[[], Callable[[str], str | None]]:
    def build() -> Callable[[str], str | None]:
        from lingua import LanguageDetectorBuilder  # type: ignore[import-not-found]

        builder = LanguageDetectorBuilder.from_all_languages()
        detector = (builder.with_low_accuracy_mode() if low else builder).build()

        def detect(text: str) -> str | None:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else None

        return detect

    return build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--only", choices=("py3langid", "lingua-low", "lingua-high"))
    args = parser.parse_args()
    if args.only is None:  # each in its own process, so memory figures do not add up
        for name in ("py3langid", "lingua-low", "lingua-high"):
            cmd = [sys.executable, __file__, "--only", name, "--rounds", str(args.rounds)]
            subprocess.run(cmd, check=False)
        return
    builders = {"py3langid": py3langid, "lingua-low": lingua(True), "lingua-high": lingua(False)}
    rounds = args.rounds if args.only != "lingua-high" else max(1, args.rounds // 10)
    try:
        measure(args.only, builders[args.only], rounds)
    except ImportError as exc:
        print(f"{args.only:14} skipped: {exc}")


if __name__ == "__main__":
    main()
