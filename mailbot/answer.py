"""Answering someone: render the template, build the message, pass the guards, queue it.

Every reply, notice and reminder goes through `answer`, so each is written in the same way
(language, threading, Reply-To, Auto-Submitted) and passes the road's outbox guards (rate
limits) in the same transaction as the work that caused it. A plain-text answer to bare
addresses (nearly all of them) is written straight to its wire bytes (`mailbot.wire`, the
same bytes); anything else is built as an EmailMessage (`compose.assemble`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from mailbot.app import App
from mailbot.compose import answer_headers, assemble, render
from mailbot.models import OutboxMessage
from mailbot.outbox import enqueue_wire, wire_of
from mailbot.wire import plain_wire


def answer(
    *,
    app: App,
    session: Session,
    to: Sequence[str],
    template: str,
    lang: str,
    context: dict[str, Any],
    kind: str,
    dedupe_key: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    reply_to: str | None = None,
    auto_submitted: str = "auto-replied",
    contribution_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Queue `template` (templates/<lang>/) to `to`; None when a guard refused it or the
    dedupe key was queued before."""
    now = now or app.clock.now()
    settings = app.settings
    subject, body = render(settings=settings, name=template, lang=lang, context=context)
    headers = answer_headers(
        settings=settings,
        now=now,
        to=to,
        subject=subject,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        extra_headers={"Reply-To": reply_to} if reply_to else None,
    )
    # The plain case (nearly every answer) is written directly; the rest the long way.
    wire = plain_wire(headers=headers, body=body, lang=lang, to=to)
    if wire is None:
        wire = wire_of(assemble(headers=headers, body=body, lang=lang))
    return enqueue_wire(
        session=session,
        settings=settings,
        guards=app.road.guards,
        now=now,
        wire=wire,
        kind=kind,
        dedupe_key=dedupe_key,
        contribution_id=contribution_id,
    )
