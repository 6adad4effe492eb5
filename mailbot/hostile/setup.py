"""The hostile-mail area's small road steps (listed in mailbot/road.py): the pre-parse limits
check, the `invalid` handler (an unreadable From is quarantined, never dropped) and the filing
step that keeps a contribution's HTML only in the form the parser sanitised.

Its rules and handlers live in `bounces` and `autoreply`, its outbox guard in `ratelimit`.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.act import Outcome, record_only
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.contributions import Filing, change
from mailbot.hostile.limits import check_limits
from mailbot.models import RawMessage
from mailbot.parse import ParsedMail


class UnreadableSender(Exception):
    """A From header we could not read: the message goes to quarantine with this reason."""


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


def keep_sanitized_html(*, app: App, session: Session, filing: Filing) -> None:
    # Sanitised by the parser, before the transaction: nothing slow runs under the lock.
    change(filing.contribution, html=filing.mail.safe_html)
    if filing.mail.html_note:
        filing.notes.append(filing.mail.html_note)
