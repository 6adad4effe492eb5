"""Held contributions get their receipt at once, saying they wait for a moderator.

Filing step 92, after moderation (30) and the list-copy step (90): the receipt is the
acknowledgement's text with status "held" (kind `held`, owed: never suppressed). The author
is told again when a moderator decides: APPROVE sends the acknowledgement (ack:<ref>),
REJECT the rejection with its reason.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.app import App
from mailbot.contributions import BULK_SOURCES, Filing, queue_reply


def held_receipt(*, app: App, session: Session, filing: Filing) -> None:
    contribution = filing.contribution
    mail = filing.mail
    if contribution.status != "held" or mail.source in BULK_SOURCES or not mail.from_addr:
        return
    if contribution.via_list and not app.consultation.acknowledge_list_copies:
        return  # a list copy is answered only when the consultation says so
    queue_reply(
        app=app,
        session=session,
        contribution=contribution,
        to=mail.from_addr,
        template="ack.txt",
        kind="held",
        dedupe_key=f"held:{contribution.ref}",
    )
    filing.notes.append("receipt sent: waiting for a moderator")
