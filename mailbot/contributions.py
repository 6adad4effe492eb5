"""Contributions: file a message under a topic, give it a tracking reference, acknowledge it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.answer import answer
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.clock import utc
from mailbot.deadline import deadline_in_force, is_late
from mailbot.hostile.safe import safe_echo
from mailbot.language import reply_language, text_language
from mailbot.models import Contribution, Participant, RawMessage, RefCounter
from mailbot.moderation.auth import header_proof
from mailbot.parse import ParsedMail
from mailbot.participants import find_or_create_participant, get_participant
from mailbot.reading import read
from mailbot.rows import insert_new
from mailbot.topics import resolve_topic, topic_title

COUNTER = RefCounter.__table__  # type: ignore[attr-defined]
# Core statements, built once, on the session's connection: no ORM flush for a counter.
READ_LAST = (
    update(COUNTER)  # an UPDATE, not a SELECT: it locks the row until the commit (PostgreSQL)
    .where(COUNTER.c.consultation_id == bindparam("cid"))
    .values(last=COUNTER.c.last)
    .returning(COUNTER.c.last)
)
WRITE_LAST = (
    update(COUNTER).where(COUNTER.c.consultation_id == bindparam("cid")).values(last=bindparam("n"))
)
REFS_KEY = "mailbot.refs"  # session.info: consultation -> last number given in this transaction


def next_ref(*, session: Session, consultation_id: str, prefix: str) -> tuple[int, str]:
    """Next tracking number; the counter only goes up, so a reference is never reused.
    Read (and locked) once per transaction and counted in memory; the last number given is
    written back just before the commit, so a batch costs two statements, not one a message,
    and the numbers stay dense: a rollback gives every one of them back."""
    given: dict[str, int] = session.info.get(REFS_KEY) or _count_refs(session)
    number = given.get(consultation_id)
    if number is None:
        conn = session.connection()
        number = conn.execute(READ_LAST, {"cid": consultation_id}).scalar()
        if number is None:  # first contribution of this consultation
            conn.execute(insert(COUNTER).values(consultation_id=consultation_id, last=0))
            number = 0
    given[consultation_id] = number = number + 1
    return number, f"{prefix}-{number:04d}"


def _count_refs(session: Session) -> dict[str, int]:
    given: dict[str, int] = {}
    session.info[REFS_KEY] = given
    if not session.info.get(REFS_KEY + ".hooked"):
        session.info[REFS_KEY + ".hooked"] = True
        event.listen(session, "before_commit", _write_refs)
        event.listen(session, "after_rollback", lambda s: s.info.pop(REFS_KEY, None))
    return given


def _write_refs(session: Session) -> None:
    """Before the commit: the last number given, per consultation."""
    given: dict[str, int] = session.info.pop(REFS_KEY, None) or {}
    for cid, number in given.items():
        session.connection().execute(WRITE_LAST, {"cid": cid, "n": number})


def get_contribution(*, session: Session, ref: str) -> Contribution | None:
    return session.exec(select(Contribution).where(Contribution.ref == ref.upper())).first()


def local_time(app: App, moment: datetime) -> datetime:
    return utc(moment).astimezone(app.consultation.tz)


def ack_context(app: App, contribution: Contribution, *, deadline: datetime) -> dict[str, Any]:
    """What every answer about a contribution may say. It goes to the From address, which
    may be forged (backscatter): the subject is only a short, link-free echo (`safe_echo`);
    the reference, topic and SHA-256 are ours and stay whole."""
    c = app.consultation
    lang = contribution.language
    return {
        "ref": contribution.ref,
        "subject": safe_echo(contribution.subject),
        "topic_slug": contribution.topic,
        "topic_title": topic_title(c, contribution.topic, lang),
        "received": local_time(app, contribution.received_at),
        "deadline": deadline.astimezone(c.tz),
        "sha256": contribution.text_sha256,
        "late": contribution.late,
        "status": contribution.status,
        "needs_refile": contribution.needs_refile,
        # How it is published (mailbot/privacy): the receipt says it and how to change it.
        "publication": contribution.publication,
        "organisation": contribution.organisation,
    }


def queue_ack(
    *, app: App, session: Session, contribution: Contribution, to: str, proven: bool = False
) -> None:
    """Queue the acknowledgement (once per contribution: dedupe key ack:<ref>). A sender
    `proven` by a trusted DKIM pass aligned with From sees their whole subject again."""
    queue_reply(
        app=app,
        session=session,
        contribution=contribution,
        to=to,
        template="ack.txt",
        kind="ack",
        dedupe_key=f"ack:{contribution.ref}",
        context={"subject": contribution.subject} if proven else None,
    )


def answer_language_of(*, app: App, session: Session, contribution: Contribution) -> str:
    """The participant's LANGUAGE, else the contribution's, when there are templates for it."""
    # The session holds the author (filed or looked up in this transaction): no get() needed.
    held = session.identity_map.get(identity_key(Participant, contribution.participant_id))
    participant = held or session.get(Participant, contribution.participant_id)
    c = app.consultation
    return reply_language(
        supported=c.languages,
        default=c.default_language,
        preferred=(participant.language if participant else None, contribution.language),
    )


def queue_reply(
    *,
    app: App,
    session: Session,
    contribution: Contribution,
    to: str,
    template: str,
    kind: str,
    dedupe_key: str,
    context: dict[str, Any] | None = None,
) -> None:
    """Queue a templated answer about a contribution, in its author's language and threaded
    under it; `context` adds to (or overrides) the acknowledgement's context."""
    deadline = deadline_in_force(app=app, session=session, topic=contribution.topic)
    answer(
        app=app,
        session=session,
        to=[to],
        template=template,
        lang=answer_language_of(app=app, session=session, contribution=contribution),
        context=ack_context(app, contribution, deadline=deadline) | (context or {}),
        kind=kind,
        dedupe_key=dedupe_key,
        in_reply_to=contribution.message_id,
        references=contribution.references,
        contribution_id=contribution.id,
    )


def file_contribution(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, status: str = "published"
) -> Contribution:
    """Create the contribution row for a parsed message (no answer queued)."""
    c = app.consultation
    now = app.clock.now()
    email = mail.from_addr or (raw.envelope_from or "").lower()
    known = get_participant(session=session, email=email)
    # Worked out before the write turn (prepare.py), unless the mail came another way.
    reading = mail.reading or read(mail, app.settings)
    language = text_language(
        detected=reading.language,
        content_language=mail.content_language,
        default=c.default_language,
        participant_language=known.language if known else None,  # for a short text
    )
    participant = find_or_create_participant(
        session=session,
        email=email,
        name=mail.from_name,
        now=now,
        language=language,
    )
    topic, rule = resolve_topic(
        mail, consultation=c, session=session, keyword_topic=reading.keyword_topic
    )
    _, ref = next_ref(session=session, consultation_id=c.id, prefix=c.ref_prefix)
    assert raw.id is not None and participant.id is not None
    values = {
        "consultation_id": c.id,
        "ref": ref,
        "raw_id": raw.id,
        "participant_id": participant.id,
        "topic": topic,
        "topic_rule": rule,
        "needs_refile": rule == "default",
        "message_id": mail.message_id,
        "in_reply_to": mail.in_reply_to,
        "references": list(mail.references),
        "subject": mail.subject,
        "author_name": mail.from_name or None,
        "language": language,  # the text's; answers use `answer_language_of`
        "text": mail.text.strip(),
        "text_sha256": reading.text_sha256,
        "attachments": [
            {"name": a.filename, "type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in mail.attachments
        ],
        "sent_at": utc(mail.date) if mail.date else None,  # SQLite keeps no offset: store UTC
        "received_at": raw.received_at,
        # Late by when the mail was durably received, against the deadline in force.
        "late": is_late(app=app, session=session, topic=topic, received_at=raw.received_at),
        "status": status,
    }
    # One Core INSERT (the filing steps need its id): no unit-of-work flush for one row.
    return insert_new(session, Contribution, values)


def change(row: Contribution, **values: Any) -> None:
    """Set what differs only: a filing step that leaves a value as it was leaves the row clean,
    so the next query does not flush it (an assignment marks a row dirty even when equal)."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


@dataclass
class Filing:
    """What the filing steps decide about a new contribution, before anything is answered."""

    contribution: Contribution
    mail: ParsedMail
    acknowledge: bool = True  # a step that answers otherwise (refusal, hold) sets False
    outcome: str = "contribution"  # e.g. held | late | refused
    notes: list[str] = field(default_factory=list)


# step(*, app, session, filing) -> None; the road lists them in order (`Road.filing_steps`):
# sanitise HTML, threading, deadline, moderation.
FilingStep = Callable[..., None]


# Bulk imports (an existing list archive, an mbox) are filed but not acknowledged: their
# authors wrote long ago and did not write to us.
BULK_SOURCES = frozenset({"mbox", "imap-backfill"})


def act_contribution(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    contribution = file_contribution(app=app, session=session, raw=raw, mail=mail)
    filing = Filing(contribution=contribution, mail=mail)
    if raw.source in BULK_SOURCES:
        filing.acknowledge = False
        filing.notes.append(f"bulk import ({raw.source}): not acknowledged")
    for _, step in app.road.filing_steps:
        step(app=app, session=session, filing=filing)
    if filing.acknowledge:
        # Headers only (the trusted MTA's Authentication-Results): no DNS in this transaction.
        proven = header_proof(mail=mail, settings=app.settings).ok
        queue_ack(
            app=app, session=session, contribution=contribution, to=mail.from_addr, proven=proven
        )
    assert raw.id is not None
    reason = "; ".join([f"filed by {contribution.topic_rule} rule", *filing.notes])
    return Outcome(
        raw.id,
        mail.message_id,
        filing.outcome,
        reason,
        ref=contribution.ref,
        topic=contribution.topic,
    )
