"""The owner of "what may be shown" of a contribution and its author, for every publisher.

The archive, the feeds, the exports, the synthesis, the digest and GET all ask here: a
contribution is public only when published by the moderators AND its author chose `name`
or `anonymous` (`confidential` is read by moderators and counted, never shown; no choice
yet, under `require_consent`, waits). The author is shown only for `name`, as the display
name (never the address), with the organisation when one was given; an erased
contribution keeps its place in its thread: `erase` wrote the notice in place of its
subject and text (`erasure_notice`), so every page says so without knowing about it.

Two forms of the same rule: `shown()` on a row's values, `public_clause()` and
`author_column()` inside a SQL query (the publishers stream thousands of rows); a test
checks that they agree.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from mailbot.config import Settings
from mailbot.resources import templates_root

NAME, ANONYMOUS, CONFIDENTIAL = "name", "anonymous", "confidential"
CHOICES = (NAME, ANONYMOUS, CONFIDENTIAL)
PUBLIC_CHOICES = (NAME, ANONYMOUS)
PUBLISHED = "published"


@dataclass(frozen=True)
class Shown:
    public: bool  # may appear at all in a published place
    author: str | None  # None: shown as anonymous
    erased: bool


def author_label(name: str | None, organisation: str | None) -> str | None:
    """ "Jane Doe (ISOC France)", "Jane Doe", "ISOC France" or None."""
    name, organisation = (name or "").strip() or None, (organisation or "").strip() or None
    if name and organisation:
        return f"{name} ({organisation})"
    return name or organisation


def shown(
    *,
    status: str,
    publication: str | None,
    author_name: str | None,
    organisation: str | None,
    erased_at: datetime | None,
) -> Shown:
    """What a publisher may show of one contribution (see the module's docstring)."""
    public = status == PUBLISHED and publication in PUBLIC_CHOICES
    named = public and publication == NAME and erased_at is None
    author = author_label(author_name, organisation) if named else None
    return Shown(public=public, author=author, erased=erased_at is not None)


def shown_of(contribution: Any) -> Shown:
    """`shown()` of a Contribution (or any row with the same attributes)."""
    return shown(
        status=contribution.status,
        publication=contribution.publication,
        author_name=contribution.author_name,
        organisation=contribution.organisation,
        erased_at=contribution.erased_at,
    )


def public_clause(c: Any) -> ColumnElement[bool]:
    """SQL form of `Shown.public`; `c` is the contribution table's columns (or the model)."""
    # coalesce: "not public" must hold for a row with no choice yet (NOT (NULL IN ...) is NULL).
    return and_(c.status == PUBLISHED, func.coalesce(c.publication, "").in_(PUBLIC_CHOICES))


def author_column(c: Any) -> ColumnElement[Any]:
    """SQL form of `Shown.author` (for rows `public_clause` already keeps)."""
    name = case((c.author_name == "", None), else_=c.author_name)
    org = case((c.organisation == "", None), else_=c.organisation)
    label = case(
        (and_(name.is_not(None), org.is_not(None)), name + literal(" (") + org + literal(")")),
        else_=case((name.is_not(None), name), else_=org),
    )
    return case((and_(c.publication == NAME, c.erased_at.is_(None)), label), else_=None)


@lru_cache(maxsize=8)
def _words(roots: tuple[Path, ...], lang: str) -> dict[str, str]:
    words: dict[str, str] = {}
    for code in dict.fromkeys(["en", lang]):
        for root in reversed(roots):
            path = root / code / "privacy.toml"
            if path.exists():
                words.update(tomllib.loads(path.read_text(encoding="utf-8")))
    return words


def privacy_words(settings: Settings | None, lang: str) -> dict[str, str]:
    """templates/<lang>/privacy.toml, the site's own templates first."""
    roots = settings.server.templates if settings is not None else (templates_root(),)
    return _words(tuple(roots), lang)
