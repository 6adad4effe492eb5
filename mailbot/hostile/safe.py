"""Safe output helpers with no mailbot imports: attachment names, HTML kept for display, and
the little of a stranger's text an answer may echo (`safe_echo`).

`safe_filename` is applied by the parser to every attachment name (and by the archive when it
writes files); `sanitize_html` is the one place HTML from a message is cleaned (nh3, a
maintained Rust sanitiser) before anyone shows it. HTML to text stays `parse.html_to_text`.
"""

from __future__ import annotations

import re
import unicodedata

import nh3

MAX_FILENAME = 120
_UNSAFE = re.compile(r'[\\/:*?"<>|]')

# What a contribution's HTML may keep for display: structure and emphasis, links, no media.
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"lang", "dir"},
}


def safe_filename(name: str | None, default: str = "attachment") -> str:
    """A name safe to show and to store: no directories, no control characters, no dot files.

    `../../etc/passwd` -> `passwd`; `C:\\x\\evil.exe` -> `evil.exe`; `a\\r\\nb.txt` -> `a b.txt`.
    """
    text = unicodedata.normalize("NFC", name or "")
    # Control and format characters (CR, LF, NUL, bidi overrides like U+202E) become spaces.
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = text.replace("\\", "/").rsplit("/", 1)[-1]  # the last path element only
    text = _UNSAFE.sub("_", " ".join(text.split()))
    text = text.strip(" .")  # no hidden files, no "..", no trailing dots (Windows)
    if len(text) > MAX_FILENAME:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        text = text[: MAX_FILENAME - len(ext) - 1].rstrip(" .") + ("." + ext if ext else "")
    return text or default


MAX_ECHO = 50  # characters of a subject echoed to a sender whose From is not proven
# Whatever could carry a visitor somewhere: URLs (with a scheme or www.), e-mail addresses,
# bare domain names ("evil.example/now"). Version numbers and "e.g." are not domains.
LINKISH = re.compile(
    r"(?:[a-z][a-z0-9+.-]{0,20}:/+|www\.)\S*|\S*@\S*"
    r"|\b[\w-]+(?:\.[\w-]+)*\.[a-z][a-z0-9-]{1,62}\b(?:[/:?#]\S*)?",
    re.I,
)


def safe_echo(text: str, *, limit: int = MAX_ECHO) -> str:
    """The part of a stranger's text an answer may repeat to an address that may be forged
    (backscatter): no control or bidi characters, no links or addresses, at most `limit`
    characters cut at a word. A spammer gains nothing from a link-free 50-character line."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    text = " ".join(LINKISH.sub("[…]", text[: limit * 20]).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


MAX_HTML = 512 * 1024  # characters of HTML we sanitise; bigger parts are shown as their text
MAX_DEPTH = 200  # nesting; nh3 (html5ever) is quadratic in depth: 200,000 <div>s took 100 s
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,30})\b[^<>]*?(/?)>")
VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "wbr", "source"}


def html_depth(html: str, *, stop_at: int = MAX_DEPTH) -> int:
    """How deep the tags nest (a linear scan; stops counting past `stop_at`)."""
    depth = deepest = 0
    for match in TAG.finditer(html):
        closing, name, self_closing = match.groups()
        if closing:
            depth = max(depth - 1, 0)
        elif not self_closing and name.lower() not in VOID:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    break
    return deepest


def bounded_sanitize(html: str | None) -> tuple[str | None, str | None]:
    """(sanitised HTML, why not) within a bound on size and depth: past it, None and the
    reason, and the message is shown by its text part (never a 100 s sanitiser run)."""
    if not html:
        return None, None
    if len(html) > MAX_HTML:
        return None, f"HTML part of {len(html)} characters is over {MAX_HTML}: text shown"
    if html_depth(html) > MAX_DEPTH:
        return None, f"HTML nested deeper than {MAX_DEPTH}: text shown"
    return sanitize_html(html), None


def sanitize_html(html: str) -> str:
    """HTML from a message, cleaned for display: no script, style, event handlers, forms,
    remote images or javascript: links; links open with rel="noopener noreferrer nofollow"."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        # Dropped with their text: code, and the page furniture that is not the message.
        clean_content_tags={"script", "style", "title", "noscript", "template"},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
