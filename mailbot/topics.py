"""Topic resolution: which topic a contribution is filed under, and which rule chose it.

Order: sub-address (contrib+composition@) -> subject tag ([composition] or any alias)
-> reply inheritance (a reply joins its parent's topic) -> keyword rules -> default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from sqlmodel import Session, col, select

from mailbot.addresses import subaddress_detail
from mailbot.app import App
from mailbot.config import Consultation
from mailbot.conversation.newtext import new_text
from mailbot.db import session_scope
from mailbot.models import Contribution, TopicRow
from mailbot.parse import ParsedMail

TAG_RE = re.compile(r"\[([^\[\]]{1,64})\]")
CHUNK = 200  # Message-IDs per IN (...) when a reply names many ancestors


def fold(text: str) -> str:
    """Case- and accent-insensitive form, so [Composición] matches the alias composicion."""
    if text.isascii():  # most subjects and bodies: nothing to strip
        return text.casefold().strip()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


_NAMES: dict[int, tuple[Consultation, dict[str, str]]] = {}


def topic_names(consultation: Consultation) -> dict[str, str]:
    """Every folded name (slug, alias, title in any language) -> slug (cached per config)."""
    cached = _NAMES.get(id(consultation))
    if cached and cached[0] is consultation:
        return cached[1]
    names: dict[str, str] = {}
    for topic in consultation.topics:
        for name in (topic.slug, *topic.aliases, *topic.title.values()):
            names.setdefault(fold(name), topic.slug)
    _NAMES[id(consultation)] = (consultation, names)
    return names


def by_subaddress(mail: ParsedMail, consultation: Consultation) -> str | None:
    names = topic_names(consultation)
    for rcpt in (*mail.envelope_to, *mail.to, *mail.cc):
        detail = subaddress_detail(rcpt, consultation.address)
        if detail is not None and fold(detail) in names:
            return names[fold(detail)]
    return None


def by_tag(mail: ParsedMail, consultation: Consultation) -> str | None:
    names = topic_names(consultation)
    for tag in TAG_RE.findall(mail.subject):
        if fold(tag) in names:
            return names[fold(tag)]
    return None


_KEYWORDS: dict[int, tuple[Consultation, tuple[tuple[str, frozenset[str]], ...]]] = {}


def topic_keywords(consultation: Consultation) -> tuple[tuple[str, frozenset[str]], ...]:
    """(slug, folded keywords) per topic, in the config's order (cached per config)."""
    cached = _KEYWORDS.get(id(consultation))
    if cached and cached[0] is consultation:
        return cached[1]
    folded = tuple((t.slug, frozenset(fold(k) for k in t.keywords)) for t in consultation.topics)
    _KEYWORDS[id(consultation)] = (consultation, folded)
    return folded


def by_keyword(mail: ParsedMail, consultation: Consultation) -> str | None:
    # The author's own words only: a word in the quoted digest must not choose the topic.
    haystack = fold(f"{mail.subject}\n{new_text(mail.text)[:4000]}")
    words = set(re.findall(r"\w+", haystack))
    for slug, keywords in topic_keywords(consultation):
        if not keywords.isdisjoint(words):
            return slug
    return None


def parent_topic(mail: ParsedMail, session: Session) -> str | None:
    """A reply joins the topic of the nearest ancestor we know (one SELECT per CHUNK
    ancestors, nearest first, not one per Message-ID)."""
    nearest = list(dict.fromkeys(m for m in (mail.in_reply_to, *reversed(mail.references)) if m))
    for start in range(0, len(nearest), CHUNK):
        chunk = nearest[start : start + CHUNK]
        rows = session.exec(
            select(Contribution.message_id, Contribution.topic)
            .where(col(Contribution.message_id).in_(chunk))
            .order_by(col(Contribution.id))
        )
        topics: dict[str | None, str] = {}
        for mid, topic in rows:
            if topic:
                topics.setdefault(mid, topic)
        for mid in chunk:
            if mid in topics:
                return topics[mid]
    return None


Rule = Callable[[ParsedMail, Consultation], "str | None"]
HEADER_RULES: tuple[tuple[str, Rule], ...] = (("subaddress", by_subaddress), ("tag", by_tag))


def resolve_topic(
    mail: ParsedMail,
    *,
    consultation: Consultation,
    session: Session,
    keyword_topic: str | None,
) -> tuple[str, str]:
    """Return (topic slug, rule name). `keyword_topic`: `by_keyword`'s answer, worked out
    before the write turn (reading.py), used when the headers and the thread say nothing."""
    for name, rule in HEADER_RULES:
        if slug := rule(mail, consultation):
            return slug, name
    if slug := parent_topic(mail, session):
        return slug, "reply"
    if keyword_topic:
        return keyword_topic, "keyword"
    return consultation.default_topic, "default"


def topic_title(consultation: Consultation, slug: str, lang: str | None = None) -> str:
    """A topic's title in `lang`, else the consultation's default language, else English,
    else any; the slug for a topic the config does not know (any more)."""
    topic = consultation.topic(slug)
    if topic is None:
        return slug
    for key in (lang, consultation.default_language, "en"):
        if key and topic.title.get(key):
            return topic.title[key]
    return next(iter(topic.title.values()), slug)


def sync_topics(*, app: App) -> None:
    """Make the topic table match the config (topics are added, never deleted)."""
    c = app.consultation
    with session_scope(app.engine) as session:
        known = {
            t.slug: t
            for t in session.exec(select(TopicRow).where(TopicRow.consultation_id == c.id))
        }
        for topic in c.topics:
            title = topic_title(c, topic.slug)
            row = known.get(topic.slug)
            if row is None:
                session.add(TopicRow(consultation_id=c.id, slug=topic.slug, title=title))
            elif row.title != title:
                row.title = title
                session.add(row)
