"""Build the static archive: home, topics, threads, a page per contribution, Atom feeds, and
(publish.search) the Pagefind full-text index over the contribution pages (publish/search).

Pages are rendered in streams (a few hundred contributions' texts at a time) and written
only when their bytes differ from the last build: OUT/.manifest.json keeps each page's
SHA-256, so a rebuild after new mail rewrites the pages that changed and deletes the pages
of contributions that are no longer published (withdrawn, rejected...).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.campaigns.pages import topic_threads_once, write_campaign_pages
from mailbot.hostile.safe import sanitize_html
from mailbot.publish import store
from mailbot.publish.render import Renderer
from mailbot.publish.search import SearchIndex, build_search_index, has_index

MANIFEST = ".manifest.json"
MANIFEST_FORMAT = 2
BATCH = 400  # contributions whose texts are held at once

Progress = Callable[[int, int], None]  # (pages done, pages expected)


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


def shown_html(row: Any) -> str | None:
    """The HTML part to show, cleaned here whatever cleaned it before (defence in depth)."""
    return sanitize_html(row.html) if row is not None and row.html else None


def topic_pages(slug: str, count: int, per_page: int) -> list[str]:
    pages = max(1, -(-count // per_page))
    return [
        f"topic/{slug}.html" if n == 1 else f"topic/{slug}-{n}.html" for n in range(1, pages + 1)
    ]


def site_fingerprint(settings: Any) -> str:
    """What every page depends on besides its own rows: templates, UI words, settings."""
    digest = hashlib.sha256(f"{MANIFEST_FORMAT}".encode())
    for root in settings.server.templates:
        for path in sorted([*(root / "archive").rglob("*"), *root.glob("*/archive.toml")]):
            if path.is_file():
                digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(settings.consultation.model_dump_json().encode())
    digest.update(settings.publish.model_dump_json().encode())
    return digest.hexdigest()


def thread_inputs(fingerprint: str, th: store.ThreadInfo, entries: dict[str, Any]) -> str:
    """The hash of everything a thread's pages show (the text via its SHA-256)."""
    parts = [fingerprint, repr((th.key, th.topic, th.title, th.refs, th.start, th.last))]
    parts += [repr(astuple(entries[ref])) for ref in th.refs]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def build_archive(  # noqa: C901  (too complex: to split)
    *, app: App, out: Path, progress: Progress | None = None, full: bool = False
) -> BuildResult:
    """Build (or bring up to date) the archive in `out`; returns what was written.

    A thread whose inputs are unchanged keeps its pages without rendering them; `full`
    renders everything (after upgrading mailbot, whose code the fingerprint cannot see)."""
    out.mkdir(parents=True, exist_ok=True)
    settings = app.settings
    c = settings.consultation
    renderer = Renderer(settings)
    result = BuildResult()
    writer = PageWriter(out, result)
    if full:
        writer.old_units = {}
    fingerprint = site_fingerprint(settings)
    per_page = settings.publish.threads_per_page
    with Session(app.engine) as session:
        plan = store.plan(session=session, consultation_id=c.id)
        result.contributions, result.threads = len(plan.entries), len(plan.threads)
        by_topic = {t.slug: plan.topic_threads(t.slug) for t in c.topics}
        for slug in {th.topic for th in plan.threads} - by_topic.keys():  # topic left the config
            by_topic[slug] = plan.topic_threads(slug)
        # A campaign's copies are listed once, as its first copy (mailbot/campaigns).
        listed, campaigns = topic_threads_once(
            session=session, settings=settings, by_topic=by_topic
        )
        total = len(plan.entries) + len(plan.threads) + 2 * len(by_topic) + 3
        done = 0

        def tick(n: int = 1) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        for asset in ("style.css", "search.js"):
            writer.put(asset, renderer.source(asset))
        inputs = {th.key: thread_inputs(fingerprint, th, plan.entries) for th in plan.threads}
        stale = []
        for th in plan.threads:
            if writer.keep(th.key, inputs[th.key]):
                tick(len(th.refs) + 1)
            else:
                stale.append(th)
        for batch in _batches(stale):
            ids = [plan.entries[ref].id for th in batch for ref in th.refs]
            rows = store.bodies(session=session, ids=ids)
            for th in batch:
                pages = [f"c/{ref}.html" for ref in th.refs] + [f"t/{th.key}.html"]
                writer.units[th.key] = [inputs[th.key], pages]
                items: list[dict[str, Any]] = []
                for ref in th.refs:
                    entry = plan.entries[ref]
                    row = rows.get(entry.id)
                    items.append({"e": entry, "row": row, "html": shown_html(row)})
                for item in items:
                    writer.put(
                        f"c/{item['e'].ref}.html",
                        renderer.render(
                            "contribution.html",
                            root="../",
                            item=item,
                            thread=th,
                            entries=plan.entries,
                        ),
                    )
                    tick()
                writer.put(
                    f"t/{th.key}.html",
                    renderer.render(
                        "thread.html",
                        root="../",
                        thread=th,
                        items=items,
                        entries=plan.entries,
                    ),
                )
                tick()
        for slug, threads in by_topic.items():
            names = topic_pages(slug, len(listed[slug]), per_page)
            for number, name in enumerate(names, start=1):
                chunk = listed[slug][(number - 1) * per_page : number * per_page]
                writer.put(
                    name,
                    renderer.render(
                        "topic.html",
                        root="../",
                        slug=slug,
                        threads=chunk,
                        entries=plan.entries,
                        page=number,
                        pages=names,
                        total=sum(len(t.refs) for t in threads),
                        campaigns=campaigns,
                    ),
                )
            tick()
            _feed(session, renderer, writer, plan, f"topic/{slug}.atom", slug)
            tick()
        _feed(session, renderer, writer, plan, "feed.atom", None)
        write_campaign_pages(
            session=session, settings=settings, render=renderer.render, put=writer.put
        )
        tick()
        counts = {
            slug: (len(threads), sum(len(t.refs) for t in threads))
            for slug, threads in by_topic.items()
        }
        writer.put(
            "index.html",
            renderer.render(
                "home.html",
                root="",
                counts=counts,
                total=len(plan.entries),
                threads=len(plan.threads),
                topics=list(by_topic),
            ),
        )
        tick()
    writer.finish()
    if settings.publish.search and (result.written or result.removed or not has_index(out)):
        result.search = build_search_index(out=out)  # nothing changed: the index stands
    tick()
    return result


def _batches(threads: Iterable[store.ThreadInfo]) -> Iterable[list[store.ThreadInfo]]:
    batch: list[store.ThreadInfo] = []
    size = 0
    for th in threads:
        batch.append(th)
        size += len(th.refs)
        if size >= BATCH:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _feed(
    session: Session,
    renderer: Renderer,
    writer: PageWriter,
    plan: store.Plan,
    path: str,
    topic: str | None,
) -> None:
    """The newest published contributions, newest first (stable: no build time inside)."""
    newest = heapq.nlargest(
        int(renderer.shared["feed_entries"]),
        plan.topic_entries(topic),
        key=lambda e: (e.received_at, e.id),
    )
    rows = store.bodies(session=session, ids=[e.id for e in newest]) if newest else {}
    items = [{"e": e, "row": rows.get(e.id)} for e in newest]
    root = "../" if "/" in path else ""
    writer.put(
        path,
        renderer.render(
            "feed.atom",
            items=items,
            topic=topic,
            path=path,
            root=root,
            updated=newest[0].received_at if newest else renderer.shared["consultation"].opens_at,
        ),
    )
