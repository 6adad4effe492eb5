"""The archive's full-text search: a static Pagefind index built over the contribution pages
after every archive build (`pagefind-bin` ships the binary in a wheel; nothing is fetched).

Only the pages under c/ are indexed, and in them only the contribution itself
(`data-pagefind-body`); filters come from each page's <meta data-pagefind-filter> (topic,
language). The browser side is Pagefind's own UI (pagefind/pagefind-ui.js), started by the
archive's search.js; without JavaScript the pages read as before, the search box is absent.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BUNDLE = "pagefind"  # the index and the UI's files, inside the archive folder
TIMEOUT = 3600.0  # seconds: a 100,000-contribution archive indexes in minutes (bench/archive.py)


class SearchIndexError(RuntimeError):
    """Pagefind is missing or failed: the pages are built, only the search is not."""


@dataclass(frozen=True)
class SearchIndex:
    path: Path
    pages: int
    size: int  # bytes on disk of the whole bundle
    seconds: float


def pagefind_binary() -> str:
    """The binary of the `pagefind-bin` wheel, else a `pagefind` on PATH."""
    spec = importlib.util.find_spec("pagefind_bin")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "pagefind"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("pagefind")
    if not found:
        raise SearchIndexError("pagefind not found: install the pagefind-bin package")
    return found


def has_index(out: Path) -> bool:
    return (out / BUNDLE / "pagefind-entry.json").is_file()


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build_search_index(*, out: Path, timeout: float = TIMEOUT) -> SearchIndex:
    """Index `out`/c/*.html into `out`/pagefind/, replaced whole: Pagefind adds files named by
    their content and never deletes, so a withdrawn contribution's words would stay in an old
    fragment. Built beside, then swapped in."""
    started = time.monotonic()
    fresh, old, bundle = out / f".{BUNDLE}.new", out / f".{BUNDLE}.old", out / BUNDLE
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    pages = sum(1 for _ in (out / "c").glob("*.html")) if (out / "c").is_dir() else 0
    if not pages:  # Pagefind refuses an empty site; the pages hide their search box then
        shutil.rmtree(bundle, ignore_errors=True)
        return SearchIndex(bundle, 0, 0, time.monotonic() - started)
    command = [
        pagefind_binary(),
        "--site",
        str(out),
        "--output-path",
        str(fresh),
        "--glob",
        "c/*.html",
        "--silent",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SearchIndexError(f"pagefind took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).decode("utf-8", "replace")[-2000:]
        raise SearchIndexError(f"pagefind failed ({done.returncode}): {tail}")
    if bundle.exists():
        bundle.rename(old)
    fresh.rename(bundle)
    shutil.rmtree(old, ignore_errors=True)
    return SearchIndex(bundle, pages, folder_size(bundle), time.monotonic() - started)
