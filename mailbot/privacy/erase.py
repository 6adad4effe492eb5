"""Erasure (GDPR art. 17): remove a contribution's raw message, text, attachments, name and
address from the database, keeping its reference, topic, thread position, dates and hash.

In the database everything happens at once, in the transaction of the confirmation: the
contribution row says "erased at the author's request" (in the consultation's language)
instead of its subject and text, so every page, feed, export and digest built from now on
shows that; pending digests are redacted; when the author has nothing else with us, their
address goes from every table (participant, raw mail, outbox, tokens, log, bounces).
What is derived later (the results of the confirmation itself, the IMAP `Processed` copy)
follows in `privacy.follow` (`mailbot privacy purge`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.conversation.complaints import Complaint
from mailbot.hostile.models import BounceEvent, ReplyLog
from mailbot.models import Contribution, OutboxMessage, Participant, RawMessage
from mailbot.moderation.models import ModerationDecision, ModerationToken
from mailbot.privacy.mbox import NO_ADDRESS_DOMAIN
from mailbot.privacy.models import Erasure
from mailbot.privacy.shown import privacy_words
from mailbot.threads.models import Thread

ERASED = "erased"
ADDRESS_RE = re.compile(r"[^\s:<>]+@[^\s:<>]+")
MIN_NEEDLE = 12  # shorter lines of an erased text are too common to redact elsewhere
BATCH = 200  # raw messages read at once when looking for an address
R = RawMessage.__table__.c  # type: ignore[attr-defined]
OUT = OutboxMessage.__table__.c  # type: ignore[attr-defined]


def address_sha256(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def erasure_notice(app: App) -> str:
    return privacy_words(app.settings, app.consultation.default_language)["erased"]


def blank_raw(raw: RawMessage) -> None:
    """The bytes go; the SHA-256, the size and the dates stay (duplicates still detected)."""
    raw.raw = b""
    raw.envelope_from = None
    raw.envelope_to = []


def needles_of(contribution: Contribution, address: str | None) -> list[str]:
    """What must not survive in a pending message: the text's lines, the name, the address."""
    lines = [line.strip() for line in contribution.text.split("\n")]
    found = [line for line in lines if len(line) >= MIN_NEEDLE and not line.startswith(">")]
    found += [n for n in (contribution.author_name, address) if n]
    return list(dict.fromkeys(found))


def erase_contribution(*, app: App, session: Session, contribution: Contribution) -> list[str]:
    """Blank one contribution and its raw message; returns the needles for pending mail."""
    author = session.get(Participant, contribution.participant_id)
    needles = needles_of(contribution, author.email if author else None)
    notice = erasure_notice(app)
    raw = session.get(RawMessage, contribution.raw_id)
    if raw is not None:
        blank_raw(raw)
        session.add(raw)
    contribution.subject = notice
    contribution.text = notice
    contribution.html = None
    contribution.attachments = []
    contribution.author_name = None
    contribution.organisation = None
    contribution.erased_at = app.clock.now()
    session.add(contribution)
    for thread in session.exec(
        select(Thread).where(Thread.root_contribution_id == contribution.id)
    ):
        thread.title, thread.subject_key = notice, ""
        session.add(thread)
    for row in session.exec(
        select(OutboxMessage).where(OutboxMessage.contribution_id == contribution.id)
    ):
        drop_outbox(row)
        session.add(row)
    return needles


def drop_outbox(row: OutboxMessage) -> None:
    """Keep the row (its dedupe key), not its bytes; one not sent yet is never sent."""
    row.raw, row.recipients = b"", []
    # Some keys name the recipient ("results:<address>:<raw id>"): still unique without it.
    row.dedupe_key = ADDRESS_RE.sub(ERASED, row.dedupe_key)
    if row.status in ("pending", "sending"):
        row.status = ERASED


def forget_address(*, session: Session, participant: Participant) -> list[str]:
    """The address and the name, out of every table that holds them; returns the
    Message-IDs of the raw mail blanked (their IMAP copies go next)."""
    address = participant.email
    participant.email = f"{ERASED}-{participant.id}@{NO_ADDRESS_DOMAIN}"
    participant.display_name = None
    session.add(participant)
    blanked = []
    for raw_id in raws_naming(session=session, address=address):
        raw = session.get(RawMessage, raw_id)
        if raw is not None:
            blanked += [raw.message_id] if raw.message_id else []
            blank_raw(raw)
            session.add(raw)
    scrub_tables(session=session, digest=address_sha256(address), sent_only=False)
    return blanked


def raws_naming(*, session: Session, address: str) -> list[int]:
    """Raw messages from the address or naming it, read a batch at a time (never all the
    raw mail in memory at once)."""
    needle, last = address.lower().encode("utf-8"), 0
    found: list[int] = []
    while True:
        rows = session.execute(
            sa_select(R.id, R.envelope_from, R.raw)
            .where(R.id > last, R.raw != b"")
            .order_by(R.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return found
        for raw_id, envelope_from, data in rows:
            if (envelope_from or "").lower() == address or needle in bytes(data).lower():
                found.append(raw_id)
        last = rows[-1][0]


def matches(value: str | None, digest: str) -> bool:
    return bool(value) and address_sha256(value or "") == digest


def scrub_tables(*, session: Session, digest: str, sent_only: bool) -> bool:
    """Remove the address whose SHA-256 is `digest`; False while mail to it waits to go."""
    done = scrub_outbox(session=session, digest=digest, sent_only=sent_only)
    scrub_logs(session=session, digest=digest)
    return done


def scrub_outbox(*, session: Session, digest: str, sent_only: bool) -> bool:
    waiting = False
    query = sa_select(OUT.id, OUT.recipients, OUT.status).where(OUT.raw != b"")
    for out_id, recipients, status in session.execute(query).all():
        if any(matches(r, digest) for r in recipients or ()):
            if sent_only and status in ("pending", "sending"):
                waiting = True
                continue
            out = session.get(OutboxMessage, out_id)
            assert out is not None
            drop_outbox(out)
            session.add(out)
    return not waiting


def scrub_logs(*, session: Session, digest: str) -> None:
    for token in session.exec(select(ModerationToken)):
        if matches(token.issued_to, digest) or matches(token.used_by, digest):
            token.issued_to = ERASED if matches(token.issued_to, digest) else token.issued_to
            token.used_by = ERASED if matches(token.used_by, digest) else token.used_by
            session.add(token)
    for decision in session.exec(select(ModerationDecision)):
        if matches(decision.actor, digest):
            decision.actor = "author"
            session.add(decision)
    for reply in session.exec(select(ReplyLog)):
        if matches(reply.recipient, digest):
            reply.recipient = ERASED
            reply.dedupe_key = ADDRESS_RE.sub(ERASED, reply.dedupe_key)
            session.add(reply)
    for bounce in session.exec(select(BounceEvent).where(col(BounceEvent.address).is_not(None))):
        if matches(bounce.address, digest):
            bounce.address = None
            session.add(bounce)
    for complaint in session.exec(select(Complaint).where(col(Complaint.recipient).is_not(None))):
        if matches(complaint.recipient, digest):
            complaint.recipient = None
            session.add(complaint)


def redact_pending(*, session: Session, needles: Iterable[str], notice: str) -> int:
    """Digests queued but not sent yet: the erased words give way to the notice."""
    needles = [n for n in needles if n]
    changed = 0
    for row in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.kind == "digest", col(OutboxMessage.status).in_(("pending",))
        )
    ):
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        touched = False
        for part in msg.walk():
            if part.get_content_maintype() != "text" or part.is_multipart():
                continue
            text = part.get_content()
            new = text
            for needle in needles:
                new = new.replace(needle, notice)
            if new != text:
                cte = "base64" if part["Content-Transfer-Encoding"] == "base64" else "8bit"
                part.set_content(new, subtype=part.get_content_subtype(), charset="utf-8", cte=cte)
                touched = True
        if touched:
            row.raw = msg.as_bytes()
            session.add(row)
            changed += 1
    return changed


def erase(
    *,
    app: App,
    session: Session,
    contributions: list[Contribution],
    participant: Participant | None,
    requested_by: str,
    reason: str | None = None,
    everything: bool = False,
) -> Erasure:
    """Erase these contributions (ERASE ref, or every one with ERASE ALL); the author's
    address goes too when nothing of theirs is left."""
    needles: list[str] = []
    message_ids = [c.message_id for c in contributions if c.message_id]
    for contribution in contributions:
        needles += erase_contribution(app=app, session=session, contribution=contribution)
    redact_pending(session=session, needles=needles, notice=erasure_notice(app))
    digest = None
    if participant is not None:
        left = session.exec(
            select(Contribution.id)
            .where(Contribution.participant_id == participant.id)
            .where(col(Contribution.erased_at).is_(None))
        ).first()
        if everything or left is None:
            digest = address_sha256(participant.email)
            message_ids += forget_address(session=session, participant=participant)
    row = Erasure(
        at=app.clock.now(),
        scope="all" if everything else "one",
        ref=None if everything or not contributions else contributions[0].ref,
        requested_by=requested_by,
        reason=reason,
        address_sha256=digest,
        message_ids=list(dict.fromkeys(message_ids)),
    )
    session.add(row)
    session.flush()
    return row
