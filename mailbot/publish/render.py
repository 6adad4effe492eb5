"""Jinja2 for the archive, feeds and reports: templates/archive/*, UI words from templates/<lang>/.

The words of the pages (headings, labels) come from templates/<lang>/archive.toml in the
consultation's default language, falling back to English key by key; the contributions keep
their own language (`lang` on each).
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from markupsafe import Markup, escape

from mailbot.clock import utc
from mailbot.config import Settings
from mailbot.conversation.newtext import new_text, split_text
from mailbot.plurals import plural
from mailbot.topics import topic_title


def local(moment: datetime | None, zone: tzinfo) -> str:
    return utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


def rfc3339(moment: datetime | None) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def text_block(text: str) -> Markup:
    """Plain text as HTML: the author's words, then the quoted message they answer folded
    away (`<details>`); quoted runs inside the text ("> ...") marked so CSS tones them down."""
    lines = text.split("\n")
    cut = quote_start(text)
    if cut >= len(lines):
        return _lines_html("\n".join(lines))
    folded = _lines_html("\n".join(lines[cut:]).strip("\n"))
    return Markup(
        _lines_html("\n".join(lines[:cut]).rstrip("\n"))
        + Markup('\n<details class="quote" data-pagefind-ignore><summary>…</summary>')
        + folded
        + Markup("</details>")
    )


def quote_start(text: str) -> int:
    """The line from which everything is the quoted or forwarded message (len = none)."""
    lines = text.split("\n")
    split = split_text(text)
    mine = {line.rstrip() for line in f"{split.new}\n{split.signature}".split("\n") if line.strip()}
    cut = len(lines)
    while cut > 0 and (not lines[cut - 1].strip() or lines[cut - 1].rstrip() not in mine):
        cut -= 1
    while cut < len(lines) and not lines[cut].strip():
        cut += 1
    if not mine or sum(1 for line in lines[cut:] if line.strip()) < 2:
        return len(lines)
    return cut


def _lines_html(text: str) -> Markup:
    out: list[str] = []
    quoted: list[str] = []

    def flush() -> None:
        if quoted:
            out.append('<span class="quote" data-pagefind-ignore>' + "\n".join(quoted) + "</span>")
            quoted.clear()

    for line in text.split("\n"):
        if line.startswith(">"):
            quoted.append(str(escape(line)))
        else:
            flush()
            out.append(str(escape(line)))
    flush()
    return Markup("\n".join(out))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str | None) -> str:
    """Drop the characters XML 1.0 forbids (a stray form feed would break a whole feed)."""
    return _NOT_XML.sub("", text or "")


def first_lines(text: str, lines: int = 3, limit: int = 280) -> str:
    """The opening of a text for lists: the first lines of the author's new text."""
    text = new_text(text) or text
    kept = [line.strip() for line in text.split("\n") if line.strip() and line[:1] != ">"]
    joined = " ".join(kept[:lines])
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"


def filesize(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"


def environment(roots: tuple[Path, ...]) -> jinja2.Environment:
    """`roots`: the site's templates_dir first (any file there wins), then the shipped ones."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(r) for r in roots]),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "atom"), default_for_string=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        rfc3339=rfc3339,
        xml_safe=xml_safe,
        text_block=text_block,
        first_lines=first_lines,
        filesize=filesize,
    )
    return env


@lru_cache(maxsize=8)
def ui_words(roots: tuple[Path, ...], lang: str) -> dict[str, Any]:
    """The words of archive.toml; its [plural] table (word -> CLDR category -> form) merged
    word by word, so a site may translate one plural without repeating the others."""
    words: dict[str, Any] = {"plural": {}}
    for code in dict.fromkeys(["en", lang]):
        for root in reversed(roots):  # the site's words override the shipped ones
            path = root / code / "archive.toml"
            if path.exists():
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                words["plural"].update(data.pop("plural", {}))
                words.update(data)
    return words


@lru_cache(maxsize=64)
def language_name(code: str, lang: str) -> str:
    """ "fr" as a reader of `lang` calls it ("français", "French"); the code if unknown."""
    try:
        return Locale.parse(code).get_display_name(lang) or code
    except (ValueError, UnknownLocaleError):
        return code


class Renderer:
    """Renders archive templates with the context every page shares."""

    def __init__(self, settings: Settings) -> None:
        c = settings.consultation
        root = settings.server.templates
        self.env = environment(root)
        self.lang = c.default_language
        self.zone = c.tz
        self.topic_titles = {t.slug: topic_title(c, t.slug, self.lang) for t in c.topics}
        words = ui_words(root, self.lang)
        self.shared: dict[str, Any] = {
            "consultation": c,
            "lang": self.lang,
            "site_title": c.title_in(self.lang),  # the consultation's title, site language
            "t": words,
            # "3 contributions": the number and archive.toml's [plural] form for it
            "count": lambda n, word: f"{n} {self.word(n, word)}",
            "language_name": lambda code: language_name(code, self.lang),
            "topic_titles": self.topic_titles,
            "when": lambda moment: local(moment, self.zone),
            "base_url": base.rstrip("/") + "/" if (base := settings.publish.base_url) else None,
            "feed_entries": settings.publish.feed_entries,
        }
        self.env.globals.update(self.shared)  # so the macros see them too
        # The macros, imported once (an import in every page costs more than the page).
        self.env.globals["m"] = self.env.get_template("archive/_macros.html").module
        self._cache: dict[str, jinja2.Template] = {}

    def template(self, name: str) -> jinja2.Template:
        if name not in self._cache:
            self._cache[name] = self.env.get_template(f"archive/{name}")
        return self._cache[name]

    def source(self, name: str) -> str:
        """A file of templates/archive/ as it is (the stylesheet, the search starter)."""
        loader = self.env.loader
        assert loader is not None
        return loader.get_source(self.env, f"archive/{name}")[0]

    def render(self, name: str, **context: Any) -> str:
        return self.template(name).render(**context)

    def word(self, n: int, word: str) -> str:
        """archive.toml's [plural] form of `word` for `n` (the plain word if it has none)."""
        words = self.shared["t"]
        return plural(self.lang, n, words["plural"].get(word) or {"other": words.get(word, word)})

    def topic_title(self, slug: str) -> str:
        return self.topic_titles.get(slug, slug)
