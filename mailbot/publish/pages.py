"""The archive's pages on disk: each written only when its bytes changed since the last build.

OUT/.manifest.json keeps each page's SHA-256 and, per unit (a thread's pages), the hash of
everything those pages show: an unchanged unit keeps its pages without rendering them, and
pages no longer built (a contribution withdrawn, rejected...) are deleted at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbot.publish.search import SearchIndex

MANIFEST = ".manifest.json"
MANIFEST_FORMAT = 2


@dataclass
class BuildResult:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    contributions: int = 0
    threads: int = 0
    written_paths: list[str] = field(default_factory=list)
    search: SearchIndex | None = None  # the Pagefind index, when (re)built by this build

    @property
    def pages(self) -> int:
        return self.written + self.unchanged


class PageWriter:
    """Writes a page only when its content changed since the last build; removes stale ones."""

    def __init__(self, out: Path, result: BuildResult) -> None:
        self.out = out
        self.result = result
        self.old: dict[str, str] = {}
        self.old_units: dict[str, list[Any]] = {}
        manifest = out / MANIFEST
        if manifest.exists():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                if data.get("format") == MANIFEST_FORMAT:
                    self.old = dict(data["pages"])
                    self.old_units = dict(data["units"])
            except (ValueError, KeyError, TypeError):
                self.old, self.old_units = {}, {}
        self.new: dict[str, str] = {}
        # A thread's pages and the hash of everything they show: same hash, same pages.
        self.units: dict[str, list[Any]] = {}
        self.dirs: set[Path] = set()

    def put(self, rel: str, content: str | bytes) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        digest = hashlib.sha256(data).hexdigest()
        self.new[rel] = digest
        path = self.out / rel
        if self.old.get(rel) == digest and path.exists():
            self.result.unchanged += 1
            return
        if path.parent not in self.dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(path.parent)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self.result.written += 1
        if len(self.result.written_paths) < 10000:
            self.result.written_paths.append(rel)

    def keep(self, unit: str, inputs: str) -> bool:
        """Carry a unit's pages over unrendered if its inputs did not change."""
        old = self.old_units.get(unit)
        if not old or old[0] != inputs:
            return False
        pages: list[str] = old[1]
        if not all(rel in self.old and (self.out / rel).exists() for rel in pages):
            return False
        for rel in pages:
            self.new[rel] = self.old[rel]
        self.units[unit] = old
        self.result.unchanged += len(pages)
        return True

    def finish(self) -> None:
        for rel in sorted(self.old.keys() - self.new.keys()):
            (self.out / rel).unlink(missing_ok=True)
            self.result.removed += 1
        tmp = self.out / f"{MANIFEST}.tmp"
        tmp.write_text(
            json.dumps(
                {"format": MANIFEST_FORMAT, "pages": self.new, "units": self.units},
                separators=(",", ":"),
            ),
            encoding="utf-8",
        )
        os.replace(tmp, self.out / MANIFEST)
