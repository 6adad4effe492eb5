"""Registers the hostile-mail area with the spine (listed in `pipeline.EXTENSIONS`).

Classify rules 20-29 (bounces) and 31-34 (automatic replies), the `bounce` and `autoreply`
handlers, the outbox guard (rate limits), the pre-parse limits check, and a filing step that
keeps a contribution's HTML only in sanitised form.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.act import Outcome, handler, record_only
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.contributions import Filing, filing_step
from mailbot.hostile import autoreply, bounces  # noqa: F401  (register rules and handlers)
from mailbot.hostile.limits import check_limits
from mailbot.hostile.ratelimit import reply_guard
from mailbot.models import RawMessage
from mailbot.outbox import GUARDS
from mailbot.parse import ParsedMail
from mailbot.pipeline import PRE_PARSE


class UnreadableSender(Exception):
    """A From header we could not read: the message goes to quarantine with this reason."""


@handler("invalid")
def quarantine_unreadable_from(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """A From that is there but unreadable is quarantined (replayable once the parser knows
    it), never filed as nothing; a message with no From at all is only recorded."""
    if mail.from_error:
        raise UnreadableSender(mail.from_error)
    return record_only(app=app, session=session, raw=raw, mail=mail, verdict=verdict)


def limits_check(app: App, raw: RawMessage) -> None:
    check_limits(raw.raw, app.settings.limits)


@filing_step("sanitize-html", order=5)
def keep_sanitized_html(*, app: App, session: Session, filing: Filing) -> None:
    # Sanitised by the parser, before the transaction: nothing slow runs under the lock.
    filing.contribution.html = filing.mail.safe_html
    if filing.mail.html_note:
        filing.notes.append(filing.mail.html_note)


if reply_guard not in GUARDS:
    GUARDS.append(reply_guard)
if limits_check not in PRE_PARSE:
    PRE_PARSE.append(limits_check)
