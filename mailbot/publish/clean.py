"""Clean a contribution's HTML for the archive: the hostile-mail area's `sanitize_html`.

Until that module exists this falls back to nh3 (ammonia) with the short allow-list below:
no scripts, event handlers, styles, forms, frames or images (an image would be an external
asset and a tracking pixel); links keep http/https/mailto only and get rel=nofollow.
"""

from __future__ import annotations

import nh3

TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
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
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "*": {"lang", "dir"},
}


def _local_clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
        clean_content_tags={"script", "style", "title", "noscript", "template"},
        strip_comments=True,
    )


try:
    from mailbot.hostile.safe import sanitize_html as _shared_clean
except ImportError:  # the hostile-mail area is not there yet
    _shared_clean = _local_clean


def clean_html(html: str) -> str:
    """Sanitised HTML fit to show inside an archive page (idempotent): our short list first
    (it also drops the text inside <title>, <noscript>...), then the shared sanitiser."""
    return _shared_clean(_local_clean(html))
