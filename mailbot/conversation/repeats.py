"""A robot's repeated text: filed, never answered (what breaks a loop between responders).

A person does not answer our mail twice within the hour with the same words; an
auto-responder that sets no header does ("Re: Received: ...", "I am away until Monday",
differing at most in a number). Only replies (a Re:-style Subject, In-Reply-To or
References) are compared. The receipt of such a repeat is the one answer not sent: every
other receipt is owed and never suppressed.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlmodel import Session, col, select

from mailbot.app import App
from mailbot.commands.finder import strip_reply_prefix
from mailbot.contributions import Filing
from mailbot.conversation.newtext import new_text
from mailbot.models import Contribution

RECENT = 20  # earlier contributions of the same sender compared


def fingerprint(text: str) -> str:
    words = re.sub(r"[\d\W_]+", " ", new_text(text).casefold()).split()
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def unanswered_repeat(*, app: App, session: Session, filing: Filing) -> None:
    contribution = filing.contribution
    mail = filing.mail
    is_reply = bool(mail.in_reply_to or mail.references) or (
        strip_reply_prefix(mail.subject) != mail.subject.strip()
    )
    if not filing.acknowledge or not is_reply:
        return
    since = contribution.received_at - timedelta(minutes=app.settings.limits.window_minutes)
    earlier = session.exec(
        select(Contribution.text)
        .where(Contribution.participant_id == contribution.participant_id)
        .where(Contribution.id != contribution.id)
        .where(Contribution.received_at > since)
        .order_by(col(Contribution.id).desc())
        .limit(RECENT)
    ).all()
    mine = fingerprint(contribution.text)
    if any(fingerprint(text) == mine for text in earlier):
        filing.acknowledge = False
        filing.notes.append("same text as a message of the last hour (a robot?): not answered")
