"""Compose outgoing mail from Jinja2 templates in templates/<lang>/, with safe headers.

A template's first lines are `Subject: ...` and a blank line, then the plain-text body, so a
translator edits one file. Nothing from an incoming message may carry CR or LF into a header.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from mailbot.addresses import loop_mark
from mailbot.config import Server, Settings

CONTROLS = {code: " " for code in (*range(32), 127)}  # str.translate: each to a space


def header_safe(value: str, limit: int = 900) -> str:
    """Fold every control character (CR, LF, NUL, ...) into a space."""
    value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")  # lone surrogates
    return " ".join(value.translate(CONTROLS).split())[:limit]


# Jinja sees an edited template at once by checking its file on disk (a stat) every time it
# is used, an include too; an edit seen within a second is as good, and answers in a rush
# then touch no file at all.
FRESH_SECONDS = 1.0


def _throttled(uptodate: Callable[[], bool]) -> Callable[[], bool]:
    """Jinja's check of a template file, made at most every FRESH_SECONDS."""
    last = [time.monotonic(), True]

    def throttled() -> bool:
        now = time.monotonic()
        if now - last[0] > FRESH_SECONDS:
            last[:] = [now, uptodate()]
        return bool(last[1])

    return throttled


class _Loader(jinja2.FileSystemLoader):
    """The files of templates/ (the site's first), each checked for edits at most once a
    second."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return source, filename, _throttled(uptodate)


@lru_cache(maxsize=8)
def _environment(roots: tuple[Path, ...]) -> jinja2.Environment:
    # The site's templates_dir first: a file there replaces the shipped one of the same name.
    return jinja2.Environment(
        loader=_Loader([str(r) for r in roots]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=8)
def _template_roots(server: Server) -> tuple[Path, ...]:
    # Server is frozen (hashable): its template folders are worked out once, not per answer.
    return server.templates


# The template chosen for (folders, name, languages), and when: a language without its own
# file is looked for on disk again at most once a second, not for every answer.
_chosen: dict[tuple[Any, ...], tuple[float, jinja2.Template]] = {}
CHOSEN_MAX = 256


def _template(settings: Settings, name: str, lang: str) -> jinja2.Template:
    """templates/<lang>/<name>, else the default language's, else English's."""
    roots = _template_roots(settings.server)
    langs = (lang, settings.consultation.default_language, "en")
    key = (roots, name, langs)
    now = time.monotonic()
    chosen = _chosen.get(key)
    if chosen is None or now - chosen[0] > FRESH_SECONDS:
        if len(_chosen) > CHOSEN_MAX:  # many template folders (tests): start again
            _chosen.clear()
        names = [f"{code}/{name}" for code in dict.fromkeys(langs)]
        chosen = _chosen[key] = (now, _environment(roots).select_template(names))
    return chosen[1]


def render(*, settings: Settings, name: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render templates/<lang>/<name>; fall back to the default language. -> (subject, body)."""
    template = _template(settings, name, lang)
    text = template.render(consultation=settings.consultation, **context)
    head, _, body = text.partition("\n\n")
    if not head.lower().startswith("subject:"):
        raise ValueError(f"template {name} must start with a 'Subject:' line")
    return header_safe(head.split(":", 1)[1]), body.strip() + "\n"


def render_file(*, settings: Settings, name: str, lang: str, context: dict[str, Any]) -> str:
    """Render a template that is not a mail (an HTML digest part, an archive page...)."""
    template = _template(settings, name, lang)
    return template.render(consultation=settings.consultation, **context)


def new_message_id(settings: Settings) -> str:
    # The "mailbot." prefix on our own domain lets the loop rule recognise our mail.
    return f"mailbot.{secrets.token_hex(12)}@{settings.consultation.domain}"


def list_headers(settings: Settings) -> dict[str, str]:
    """The headers of mail sent to many (the digest), never of an answer to one person."""
    c = settings.consultation
    return {"List-Id": f"{header_safe(c.title, 60)} <{c.id}.{c.domain}>", "Precedence": "bulk"}


def unsubscribe_headers(settings: Settings) -> dict[str, str]:
    """List-Unsubscribe (RFC 2369) by mail to the command address and, with an https URL,
    one-click List-Unsubscribe-Post (RFC 8058): large providers require them on bulk mail."""
    c = settings.consultation
    mailto = f"<mailto:{c.command_address or c.address}?subject=unsubscribe>"
    url = settings.server.unsubscribe_url
    if not url:
        return {"List-Unsubscribe": mailto}
    return {
        "List-Unsubscribe": f"<{url}>, {mailto}",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def answer_headers(
    *,
    settings: Settings,
    now: Any,
    to: Sequence[str],
    subject: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str = "auto-replied",
    extra_headers: dict[str, str] | None = None,
    list_mail: bool = False,
) -> list[tuple[str, str]]:
    """The headers every mail from the bot carries, in order, before the MIME ones: one list
    for `build` and for the plain-text writer (`mailbot.wire`), so both say the same."""
    headers = [
        ("From", from_value(settings)),
        # Plain addr-specs: a UTF-8 local part (RFC 6531) is legal mail, not an error to raise.
        ("To", ", ".join(header_safe(a) for a in to)),
        ("Subject", header_safe(subject)),
        ("Date", format_datetime(now)),
        ("Message-ID", f"<{new_message_id(settings)}>"),
    ]
    if in_reply_to:
        headers.append(("In-Reply-To", f"<{header_safe(in_reply_to)}>"))
    refs = [header_safe(r) for r in (*references, *([in_reply_to] if in_reply_to else []))]
    if refs:
        headers.append(("References", " ".join(f"<{r}>" for r in dict.fromkeys(refs))))
    headers.append(("Auto-Submitted", auto_submitted))  # RFC 3834: robots must not answer us
    headers.append(("X-Loop", loop_mark(settings)))
    extra = {**(list_headers(settings) if list_mail else {}), **(extra_headers or {})}
    headers.extend((name, header_safe(value)) for name, value in extra.items())
    return headers


def from_value(settings: Settings) -> str:
    """The From of every mail from the bot: the consultation's title and address."""
    return _from_value(settings.consultation.title, settings.consultation.address)


@lru_cache(maxsize=8)
def _from_value(title: str, address: str) -> str:
    return formataddr((header_safe(title, 78), address))


def build(
    *,
    settings: Settings,
    now: Any,
    to: Sequence[str],
    subject: str,
    body: str,
    lang: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str = "auto-replied",
    extra_headers: dict[str, str] | None = None,
    html: str | None = None,
    list_mail: bool = False,
) -> EmailMessage:
    """An outgoing message with the headers every mail from the bot carries. Answers to one
    person (receipts, results) are personal mail; `list_mail` (the digest) adds List-*."""
    headers = answer_headers(
        settings=settings,
        now=now,
        to=to,
        subject=subject,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        extra_headers=extra_headers,
        list_mail=list_mail,
    )
    return assemble(headers=headers, body=body, lang=lang, html=html)


def assemble(
    *, headers: Sequence[tuple[str, str]], body: str, lang: str, html: str | None = None
) -> EmailMessage:
    """The message of `answer_headers`' headers, a UTF-8 text part and an optional HTML one."""
    msg = EmailMessage()
    for name, value in headers:
        msg[name] = value
    msg.set_content(body, charset="utf-8")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8")
    msg["Content-Language"] = lang  # after set_content, which clears Content-* headers
    return msg
