"""The hostile-mail area's two small road steps (listed in mailbot/road.py): the pre-parse
limits check and the filing step that keeps a contribution's HTML only in sanitised form.

Its rules and handlers live in `bounces` and `autoreply`, its outbox guard in `ratelimit`.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.app import App
from mailbot.contributions import Filing
from mailbot.hostile.limits import check_limits
from mailbot.hostile.safe import sanitize_html
from mailbot.models import RawMessage


def limits_check(app: App, raw: RawMessage) -> None:
    check_limits(raw.raw, app.settings.limits)


def keep_sanitized_html(*, app: App, session: Session, filing: Filing) -> None:
    html = filing.mail.html
    filing.contribution.html = sanitize_html(html) if html else None
