"""Build the static archive: home, topics, threads, a page per contribution, Atom feeds, and
(publish.search) the Pagefind full-text index over the contribution pages (publish/search).

Pages are rendered in streams (a few hundred contributions' texts at a time) and written
only when their bytes differ from the last build (`publish.pages`): a rebuild after new mail
rewrites the pages that changed and deletes the pages of contributions that are no longer
published (withdrawn, rejected...).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.campaigns.pages import topic_threads_once, write_campaign_pages
from mailbot.hostile.safe import sanitize_html
from mailbot.publish import store
from mailbot.publish.pages import MANIFEST_FORMAT, BuildResult, PageWriter
from mailbot.publish.render import Renderer
from mailbot.publish.search import build_search_index, has_index

BATCH = 400  # contributions whose texts are held at once

Progress = Callable[[int, int], None]  # (pages done, pages expected)


@dataclass
class _Build:
    """One build's state, shared by the functions writing each kind of page."""

    session: Session
    renderer: Renderer
    writer: PageWriter
    plan: store.Plan
    per_page: int  # threads on a topic page
    progress: Progress | None
    total: int
    done: int = 0

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, self.total)


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


def build_archive(
    *, app: App, out: Path, progress: Progress | None = None, full: bool = False
) -> BuildResult:
    """Build (or bring up to date) the archive in `out`; returns what was written.

    A thread whose inputs are unchanged keeps its pages without rendering them; `full`
    renders everything (after upgrading mailbot, whose code the fingerprint cannot see)."""
    out.mkdir(parents=True, exist_ok=True)
    settings = app.settings
    renderer = Renderer(settings)
    result = BuildResult()
    writer = PageWriter(out, result)
    if full:
        writer.old_units = {}
    with Session(app.engine) as session:
        plan = store.plan(session=session, consultation_id=settings.consultation.id)
        result.contributions, result.threads = len(plan.entries), len(plan.threads)
        by_topic = {t.slug: plan.topic_threads(t.slug) for t in settings.consultation.topics}
        for slug in {th.topic for th in plan.threads} - by_topic.keys():  # topic left the config
            by_topic[slug] = plan.topic_threads(slug)
        # A campaign's copies are listed once, as its first copy (mailbot/campaigns).
        listed, campaigns = topic_threads_once(
            session=session, settings=settings, by_topic=by_topic
        )
        total = len(plan.entries) + len(plan.threads) + 2 * len(by_topic) + 3
        per_page = settings.publish.threads_per_page
        build = _Build(session, renderer, writer, plan, per_page, progress, total)
        for asset in ("style.css", "search.js"):
            writer.put(asset, renderer.source(asset))
        _thread_pages(build, site_fingerprint(settings))
        for slug, threads in by_topic.items():
            _topic_pages(build, slug, threads, listed[slug], campaigns)
            build.tick()
            _feed(build, f"topic/{slug}.atom", slug)
            build.tick()
        _feed(build, "feed.atom", None)
        write_campaign_pages(
            session=session, settings=settings, render=renderer.render, put=writer.put
        )
        build.tick()
        _home(build, by_topic)
        build.tick()
    writer.finish()
    if settings.publish.search and (result.written or result.removed or not has_index(out)):
        result.search = build_search_index(out=out)  # nothing changed: the index stands
    build.tick()
    return result


def _thread_pages(build: _Build, fingerprint: str) -> None:
    """Each thread's page and its contributions' pages, unless its inputs are unchanged."""
    plan, writer = build.plan, build.writer
    inputs = {th.key: thread_inputs(fingerprint, th, plan.entries) for th in plan.threads}
    stale = []
    for th in plan.threads:
        if writer.keep(th.key, inputs[th.key]):
            build.tick(len(th.refs) + 1)
        else:
            stale.append(th)
    for batch in _batches(stale):
        ids = [plan.entries[ref].id for th in batch for ref in th.refs]
        rows = store.bodies(session=build.session, ids=ids)
        for th in batch:
            pages = [f"c/{ref}.html" for ref in th.refs] + [f"t/{th.key}.html"]
            writer.units[th.key] = [inputs[th.key], pages]
            _thread(build, th, rows)


def _thread(build: _Build, th: store.ThreadInfo, rows: dict[int, Any]) -> None:
    render, entries = build.renderer.render, build.plan.entries
    items: list[dict[str, Any]] = []
    for ref in th.refs:
        entry = entries[ref]
        row = rows.get(entry.id)
        items.append({"e": entry, "row": row, "html": shown_html(row)})
    for item in items:
        build.writer.put(
            f"c/{item['e'].ref}.html",
            render("contribution.html", root="../", item=item, thread=th, entries=entries),
        )
        build.tick()
    build.writer.put(
        f"t/{th.key}.html",
        render("thread.html", root="../", thread=th, items=items, entries=entries),
    )
    build.tick()


def _topic_pages(
    build: _Build,
    slug: str,
    threads: list[store.ThreadInfo],
    listed: list[store.ThreadInfo],
    campaigns: dict[str, str],
) -> None:
    """A topic's pages of threads (`threads_per_page` each), its campaigns listed once."""
    per_page = build.per_page
    names = topic_pages(slug, len(listed), per_page)
    for number, name in enumerate(names, start=1):
        build.writer.put(
            name,
            build.renderer.render(
                "topic.html",
                root="../",
                slug=slug,
                threads=listed[(number - 1) * per_page : number * per_page],
                entries=build.plan.entries,
                page=number,
                pages=names,
                total=sum(len(t.refs) for t in threads),
                campaigns=campaigns,
            ),
        )


def _home(build: _Build, by_topic: dict[str, list[store.ThreadInfo]]) -> None:
    counts = {
        slug: (len(threads), sum(len(t.refs) for t in threads))
        for slug, threads in by_topic.items()
    }
    build.writer.put(
        "index.html",
        build.renderer.render(
            "home.html",
            root="",
            counts=counts,
            total=len(build.plan.entries),
            threads=len(build.plan.threads),
            topics=list(by_topic),
        ),
    )


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


def _feed(build: _Build, path: str, topic: str | None) -> None:
    """The newest published contributions, newest first (stable: no build time inside)."""
    renderer = build.renderer
    newest = heapq.nlargest(
        int(renderer.shared["feed_entries"]),
        build.plan.topic_entries(topic),
        key=lambda e: (e.received_at, e.id),
    )
    rows = store.bodies(session=build.session, ids=[e.id for e in newest]) if newest else {}
    items = [{"e": e, "row": rows.get(e.id)} for e in newest]
    root = "../" if "/" in path else ""
    build.writer.put(
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
