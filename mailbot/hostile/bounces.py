"""Bounces: delivery reports (RFC 3464 DSN) and the common non-DSN texts, recorded against the
participant with hard/soft scoring and never answered.

Rules 20-29 decide *that* a message is a bounce from the parsed mail; the handler reads the
raw bytes again for the DSN fields (which address, which status) and scores each participant
it names: a hard failure adds 1, a soft one (4.x.x, "delayed", "will retry") adds 0.5 -- once
per bounce and participant, only when the bounce quotes the Message-ID of a message we sent to
that address (anyone can forge a DSN; nobody else knows our Message-IDs), and the score halves
every two weeks. Moderators reset a score with `BOUNCES RESET address`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.addresses import bounce_address, exact_addresses
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.clock import utc
from mailbot.config import Settings
from mailbot.hostile.dsn import DAEMONS, failures
from mailbot.hostile.models import BounceEvent
from mailbot.models import OutboxMessage, Participant, RawMessage
from mailbot.parse import ParsedMail
from mailbot.participants import get_participant

log = logging.getLogger(__name__)

HARD_SCORE, SOFT_SCORE = 1.0, 0.5
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|returned mail|mail delivery (?:failed|failure|problem)"
    r"|delivery (?:status notification \((?:failure|delay)\)|failure|has failed|notification"
    r"|problem|failed)|failure notice|non[- ]?deliver|could not (?:be )?deliver"
    r"|delivery report|message status - undeliverable|nicht zustellbar|unzustellbar"
    r"|non remis|non distribu|impossible de remettre|no se (?:puede|pudo) entregar"
    r"|no entregado|non recapitabile|mail system error|returned to sender"
    r"|delayed mail|warning: (?:could not send|message .* delayed)|message you sent blocked"
    r"|^(?:error|failed|failure)\b|delivery status notification$|^delivery notification"
    r"|user unknown|delivery warning|^mail error\b",
    re.I,
)
BOUNCE_TEXT = re.compile(
    r"(?:user|mailbox|recipient|address)\s+(?:unknown|not found|unavailable|does not exist)"
    r"|no such (?:user|mailbox|recipient|address|domain)|unknown (?:user|recipient|mailbox)"
    r"|could not be delivered|couldn't be delivered|was not delivered|undeliverable"
    r"|permanent(?:ly)? (?:error|failure|fatal)|delivery to the following recipient"
    r"|the following addresses had permanent|returned to sender|over quota|quota exceeded"
    r"|mailbox (?:is )?full|host unknown|message could not be delivered"
    r"|this is the (?:postfix|qmail-send|mail delivery) program|mail delivery (?:software|system)"
    r"|has not yet been delivered|will (?:be )?retr(?:y|ied)|delivery (?:has )?failed"
    r"|unable to deliver|550[ -]5\.\d\.\d|5\.\d\.\d"
    r"|not a valid (?:user|recipient|address|mailbox)|postponed due to",
    re.I,
)


def _null_sender(mail: ParsedMail) -> bool:
    if mail.envelope_from is not None and mail.envelope_from.strip("<> ") == "":
        return True
    return any(v.strip() == "<>" for v in mail.header_all("return-path"))


def _from_daemon(mail: ParsedMail) -> bool:
    local = mail.from_addr.partition("@")[0]
    return (
        local in DAEMONS
        or "mail delivery" in mail.from_name.lower()
        or not mail.from_addr  # no usable From ("Jetmail System" <>): how gateways sign
    )


def to_bounce_address(mail: ParsedMail, settings: Settings) -> Verdict | None:
    """Our envelope sender is <local>-bounces@domain: whatever reaches it is a bounce."""
    ours = bounce_address(settings).lower()
    if any(r.strip("<> ").lower() == ours for r in mail.envelope_to):
        return Verdict("bounce", f"sent to our bounce address {ours}")
    return None


def delivery_report(mail: ParsedMail, settings: Settings) -> Verdict | None:
    ctype = (mail.header("content-type") or "").lower()
    if mail.content_type == "multipart/report" and "delivery-status" in ctype.replace('"', ""):
        return Verdict("bounce", "delivery status notification (multipart/report DSN)")
    return None


def daemon_report(mail: ParsedMail, settings: Settings) -> Verdict | None:
    """From MAILER-DAEMON, or from postmaster / a null sender with a bounce's words."""
    if mail.from_addr.partition("@")[0] in ("mailer-daemon", "mail-daemon", "maildaemon"):
        return Verdict("bounce", f"from {mail.from_addr}")
    if not (_from_daemon(mail) or _null_sender(mail)):
        return None
    who = mail.from_addr or "a null sender"
    if BOUNCE_SUBJECT.search(mail.subject):
        return Verdict("bounce", f"bounce subject from {who}: {mail.subject[:80]!r}")
    if BOUNCE_TEXT.search(mail.text[:8000]):
        return Verdict("bounce", f"bounce text from {who}")
    return None


# For senders that look like people, only the unmistakable subjects and texts count: a
# contribution titled "Failure of the process" that cites "section 5.1.2" is no bounce.
STRONG_SUBJECT = re.compile(
    r"^(?!\s*(?:re|fwd?|aw|tr|rv|wg)\s*:)\W*(?:undeliver|undelivered mail|returned mail"
    r"|mail delivery (?:failed|failure)|delivery status notification|failure notice"
    r"|non[- ]?deliver|nicht zustellbar|unzustellbar|non remis|no se (?:puede|pudo) entregar"
    r"|delivery (?:failure|has failed|notification)|delayed mail|warning: could not send"
    r"|mail could not be delivered)"
    r"|:\s*(?:non remis|undeliverable|nicht zustellbar)\s*(?:\(delivery failed\))?\s*$",
    re.I,
)
STRONG_TEXT = re.compile(
    r"(?:user|mailbox|recipient|address)\s+(?:unknown|not found|unavailable|does not exist)"
    r"|no such (?:user|mailbox|recipient|address|domain)|could not be delivered"
    r"|couldn't be delivered|was not delivered|permanent(?:ly)? (?:error|failure|fatal)"
    r"|delivery to the following recipient|mailbox (?:is )?full|over quota|host unknown"
    r"|this is the (?:postfix|qmail-send|mail delivery) program|mail delivery software"
    r"|has not yet been delivered|unable to deliver|not a valid (?:user|recipient|mailbox)"
    r"|could not deliver (?:the )?(?:message|mail) to|unknown user|n'a pas pu (?:e|ê)tre d",
    re.I,
)


def bounce_subject(mail: ParsedMail, settings: Settings) -> Verdict | None:
    """Non-DSN bounces from an ordinary-looking sender: the subject AND the text must agree."""
    if STRONG_SUBJECT.search(mail.subject) and STRONG_TEXT.search(mail.text[:8000]):
        return Verdict("bounce", f"bounce subject and text: {mail.subject[:80]!r}")
    return None


HALF_LIFE = timedelta(days=14)  # a bounce weighs half as much two weeks later
MSGID = re.compile(rb"<([^<>\s]{1,250}@[^<>\s]{1,250})>")


def concerned(*, session: Session, raw: bytes) -> dict[str, set[str]]:
    """Our messages a bounce quotes (its returned headers or text carry their Message-ID):
    Message-ID -> recipients. A bounce that names none of them is about nothing we sent."""
    ids = {m.decode("ascii", "replace") for m in MSGID.findall(raw[:2_000_000])}
    if not ids:
        return {}
    rows = session.exec(
        select(OutboxMessage.message_id, OutboxMessage.recipients).where(
            OutboxMessage.message_id.in_(list(ids)[:500])  # type: ignore[attr-defined]
        )
    ).all()
    return {mid: {r.lower() for r in recipients} for mid, recipients in rows}


def decayed(*, session: Session, participant: Participant, now: datetime) -> float:
    """The participant's score with its half-life applied since the last scored bounce."""
    last = session.exec(
        select(func.max(BounceEvent.at))
        .where(BounceEvent.participant_id == participant.id)
        .where(BounceEvent.score > 0)
    ).one()
    if last is None or participant.bounce_score <= 0:
        return participant.bounce_score
    elapsed = utc(now) - utc(last)
    return participant.bounce_score * 0.5 ** max(elapsed / HALF_LIFE, 0.0)


def record_bounce(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """Score each participant a bounce is about, once per bounce, and only when it concerns
    mail we sent to that address; everything else is kept as an event with score 0."""
    assert raw.id is not None
    ours = {*exact_addresses(app.settings), mail.from_addr}
    now = app.clock.now()
    sent_to = set().union(*concerned(session=session, raw=raw.raw).values())
    scored: set[int] = set()
    notes: list[str] = []
    for failure in failures(raw.raw, ignore=ours):
        participant = None
        if failure.address:
            participant = get_participant(session=session, email=failure.address)
        score = 0.0
        if participant is not None and participant.id not in scored:
            if failure.address in sent_to:
                score = HARD_SCORE if failure.severity == "hard" else SOFT_SCORE
                before = decayed(session=session, participant=participant, now=now)
                participant.bounce_score = round(before + score, 3)
                session.add(participant)
                scored.add(participant.id)  # type: ignore[arg-type]
            else:
                notes.append(f"not about mail we sent to {failure.address}: not scored")
        session.add(
            BounceEvent(
                at=now,
                raw_id=raw.id,
                participant_id=participant.id if participant else None,
                address=failure.address,
                severity=failure.severity,
                status=failure.status,
                detector=failure.detector,
                score=score,
            )
        )
        session.flush()  # the next decay reads this event
        if failure.address:
            notes.append(
                f"{failure.severity} {failure.address}"
                + (f" {failure.status}" if failure.status else "")
                + (f" (participant score {participant.bounce_score:g})" if participant else "")
            )
    reason = verdict.reason + ("; " + ", ".join(notes[:10]) if notes else "; no address found")
    return Outcome(raw.id, mail.message_id, "bounce", reason)


def reset_score(*, session: Session, address: str) -> Participant | None:
    """A moderator's `BOUNCES RESET address`: the participant gets mail again."""
    person = session.exec(select(Participant).where(Participant.email == address.lower())).first()
    if person is not None:
        person.bounce_score = 0.0
        session.add(person)
    return person
