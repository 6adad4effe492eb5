"""The weekly digest as mail: rendered in text and HTML (multipart/alternative, text first),
sent to the caucus list and to each direct subscriber; the `digest` calendar job.

Recipients: one message to the list (the consultation's default language, or one per language
with calendar.digest_list_languages = "each") plus one message per direct subscriber
(Participant.digest_subscribed) in the language they chose (LANGUAGE), carrying
List-Unsubscribe. Keys: digest:<consultation>:<period>, digest:<consultation>:<period>:list-<lang>
(other languages of the list) and digest:<consultation>:<period>:<id>.

The HTML part is a 600-px single column whose stylesheet (templates/digest/style.css) is
inlined by css-inline, the @media rules (dark mode, narrow screens) kept in a <style>.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from functools import partial
from typing import Any

import css_inline
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.calendar.digest import Digest, build_digest, fold
from mailbot.calendar.periods import digest_boundaries, due_digest, period_key, time_left
from mailbot.calendar.registry import record_sent, sent_records
from mailbot.clock import utc
from mailbot.compose import build, render, render_file, unsubscribe_headers
from mailbot.deadline import deadline_in_force
from mailbot.models import Participant
from mailbot.outbox import enqueue
from mailbot.plurals import counted

# Inline what can be, keep @media (dark mode, narrow screens) in a <style>; nothing fetched.
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render_digest(*, app: App, digest: Digest, lang: str) -> tuple[str, str, str]:
    """-> (subject, text part, html part) in `lang` (contributions keep their own language)."""
    days, hours, minutes = time_left(digest.now, digest.deadline)
    cal = app.settings.calendar
    context: dict[str, Any] = {
        "digest": digest,
        "lang": lang,
        "days": days,
        "hours": hours,
        "minutes": minutes,
        "closed": digest.now >= digest.deadline,
        "title": app.consultation.title_in(lang),
        "intro": cal.digest_intro.get(lang, ""),
        "footer": cal.digest_footer.get(lang, ""),
        "counted": partial(counted, lang),
        "fold": fold,
    }
    subject, text = render(settings=app.settings, name="digest.txt", lang=lang, context=context)
    html = render_file(
        settings=app.settings, name="digest.html", lang=lang, context=context | {"subject": subject}
    )
    return subject, text, INLINER.inline(html)


def digest_messages(
    *, app: App, session: Session, digest: Digest, now: datetime
) -> list[tuple[EmailMessage, str]]:
    """(message, recipient) for the list and every direct subscriber; one render per language."""
    c = app.consultation
    rendered: dict[str, tuple[str, str, str]] = {}

    def in_lang(lang: str) -> tuple[str, str, str]:
        if lang not in rendered:
            rendered[lang] = render_digest(app=app, digest=digest, lang=lang)
        return rendered[lang]

    out: list[tuple[EmailMessage, str]] = []
    for lang in list_languages(app):
        subject, text, html = in_lang(lang)
        msg = digest_message(
            app=app, now=now, to=c.list_address, subject=subject, text=text, html=html, lang=lang
        )
        out.append((msg, "" if lang == c.default_language else f":list-{lang}"))
    subscribers = session.exec(
        select(Participant)
        .where(Participant.digest_subscribed == True)  # noqa: E712
        .order_by(Participant.id)  # type: ignore[arg-type]
    )
    for person in subscribers:
        lang = person.language or c.default_language
        lang = lang if lang in c.languages else c.default_language
        subject, text, html = in_lang(lang)
        msg = digest_message(
            app=app,
            now=now,
            to=person.email,
            subject=subject,
            text=text,
            html=html,
            lang=lang,
            headers=unsubscribe_headers(app.settings),
        )
        out.append((msg, f":{person.id}"))
    return out


def list_languages(app: App) -> list[str]:
    """The languages the list's copy goes out in: the default first."""
    c = app.consultation
    if app.settings.calendar.digest_list_languages == "each":
        return list(dict.fromkeys([c.default_language, *c.languages]))
    return [c.default_language]


# Above this size the parts go base64: the email package's quoted-printable encoder is pure
# Python and took about half the time of a 10,000-contribution digest (bench/digest.py).
BASE64_ABOVE = 200_000


def digest_message(
    *,
    app: App,
    now: datetime,
    to: str,
    subject: str,
    text: str,
    html: str,
    lang: str,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """multipart/alternative, text/plain first, with the headers of compose.build."""
    if len(text) + len(html) <= BASE64_ABOVE:
        return build(
            settings=app.settings,
            now=now,
            to=[to],
            subject=subject,
            body=text,
            html=html,
            lang=lang,
            auto_submitted="auto-generated",
            extra_headers=headers,
            list_mail=True,
        )
    msg = build(
        settings=app.settings,
        now=now,
        to=[to],
        subject=subject,
        body="",
        html="",
        lang=lang,
        auto_submitted="auto-generated",
        extra_headers=headers,
        list_mail=True,
    )
    plain, rich = msg.iter_parts()
    plain.set_content(text, charset="utf-8", cte="base64")
    rich.set_content(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def send_digest(
    *,
    app: App,
    session: Session,
    now: datetime,
    period: str,
    due_at: datetime,
    start: datetime,
    end: datetime,
) -> str:
    """Build, queue and record the digest of [start, end) under `period` (one transaction)."""
    c = app.consultation
    issues = [
        r.issue
        for r in sent_records(session=session, consultation_id=c.id, kind="digest")
        if r.issue is not None
    ]
    issue = max(issues, default=0) + 1
    digest = build_digest(app=app, session=session, start=start, end=end, issue=issue, now=now)
    if digest.empty and app.settings.calendar.digest_when_empty == "skip":
        record_sent(
            app=app,
            session=session,
            kind="digest",
            period=period,
            due_at=due_at,
            messages=0,
            window=(start, end),
        )
        return f"digest {period}: empty week, nothing sent"
    queued = 0
    for msg, suffix in digest_messages(app=app, session=session, digest=digest, now=now):
        if enqueue(
            session=session,
            settings=app.settings,
            guards=app.road.guards,
            now=now,
            msg=msg,
            kind="digest",
            dedupe_key=f"digest:{c.id}:{period}{suffix}",
        ):
            queued += 1
    record_sent(
        app=app,
        session=session,
        kind="digest",
        period=period,
        due_at=due_at,
        messages=queued,
        window=(start, end),
        issue=issue,
    )
    return (
        f"digest {period}: volume {digest.volume} issue {issue}, {digest.new} new, "
        f"{queued} message(s) queued"
    )


def last_window_end(*, app: App, session: Session) -> datetime | None:
    ends = [
        utc(r.window_end)
        for r in sent_records(session=session, consultation_id=app.consultation.id, kind="digest")
        if r.window_end
    ]
    return max(ends, default=None)


def digest_times(*, app: App, session: Session) -> list[datetime]:
    c, cal = app.consultation, app.settings.calendar
    return digest_boundaries(
        opens=c.opens_at,
        closes=deadline_in_force(app=app, session=session),
        weekday=cal.digest_weekday,
        at=cal.digest_time,
        tz=c.tz,
    )


def send_due_digest(*, app: App, session: Session, now: datetime, armed_at: datetime) -> str | None:
    last_end = last_window_end(app=app, session=session)
    occurrence = due_digest(
        now=now,
        boundaries=digest_times(app=app, session=session),
        last_end=last_end,
        armed_at=armed_at,
    )
    if occurrence is None:
        return None
    return send_digest(
        app=app,
        session=session,
        now=now,
        period=occurrence.key,
        due_at=occurrence.due_at,
        start=last_end or app.consultation.opens_at,
        end=occurrence.due_at,
    )


def send_digest_now(*, app: App, session: Session) -> str | None:
    """`mailbot digest send --now`: everything since the last digest, up to now."""
    now = app.clock.now()
    last_end = last_window_end(app=app, session=session)
    if last_end is not None and last_end >= now:
        return None
    return send_digest(
        app=app,
        session=session,
        now=now,
        period=period_key(now),
        due_at=now,
        start=last_end or app.consultation.opens_at,
        end=now,
    )


def preview_digest(
    *, app: App, session: Session, lang: str | None = None
) -> tuple[Digest, tuple[str, str, str]]:
    """The next digest as it stands now (window: since the last digest, up to now)."""
    now = app.clock.now()
    start = last_window_end(app=app, session=session) or app.consultation.opens_at
    issues = [
        r.issue
        for r in sent_records(session=session, consultation_id=app.consultation.id, kind="digest")
        if r.issue is not None
    ]
    digest = build_digest(
        app=app,
        session=session,
        start=start,
        end=max(now, start),
        issue=max(issues, default=0) + 1,
        now=now,
    )
    return digest, render_digest(
        app=app, digest=digest, lang=lang or app.consultation.default_language
    )
