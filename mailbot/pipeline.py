"""The pipeline: stored raw -> parse -> classify -> act -> outbox, one transaction per message.

A message that makes any step fail is rolled back and moved to quarantine with the error;
its raw bytes stay, and `mailbot replay` walks it down the same road again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from sqlmodel import select

import mailbot.contributions  # noqa: F401  (registers the contribution handler)
from mailbot.act import Outcome, act
from mailbot.app import App
from mailbot.classify import classify
from mailbot.db import session_scope
from mailbot.models import RawMessage
from mailbot.parse import parse

log = logging.getLogger(__name__)

# Modules of other areas, imported once at start-up so they register their classify rules,
# act handlers, filing steps, services and jobs. One line per area.
EXTENSIONS: tuple[str, ...] = (
    "mailbot.threads.store",  # topics and threads (issue 4)
    "mailbot.commands",  # commands by e-mail and moderation (issue 5)
    "mailbot.calendar",  # deadlines, reminders, digests (issue 6)
    "mailbot.hostile.setup",  # bounces, auto-replies, rate limits, quarantine (issue 7)
    "mailbot.conversation.setup",  # list copies, complaints, replies to our mail, GET/INDEX (18)
)


# Checks on the stored raw message before it is parsed (size and MIME limits, issue 7): one
# that raises sends the message to quarantine with its error as the reason.
PRE_PARSE: list[Callable[[App, RawMessage], None]] = []


def load_extensions() -> None:
    import importlib

    for name in EXTENSIONS:
        importlib.import_module(name)


def process_one(*, app: App, raw_id: int) -> Outcome:
    """Walk one stored message down the road; quarantine it if anything fails.

    Parsing and classifying (HTML sanitising, MIME walking) run BEFORE the write transaction,
    so one slow message never holds the database lock other deliveries wait for.
    """
    try:
        with session_scope(app.engine) as session:
            raw = session.get(RawMessage, raw_id)
            if raw is None:
                raise LookupError(f"no raw message {raw_id}")
            if raw.state != "new":  # another worker or an earlier run finished it
                return Outcome(
                    raw_id, raw.message_id, raw.outcome or raw.state, raw.reason or "already done"
                )
        for check in PRE_PARSE:
            check(app, raw)
        mail = parse(
            raw.raw,
            envelope_from=raw.envelope_from,
            envelope_to=tuple(raw.envelope_to or ()),
            source=raw.source,
        )
        verdict = classify(mail, app.settings)
        with session_scope(app.engine) as session:
            raw = session.get(RawMessage, raw_id, with_for_update=True)
            if raw is None:
                raise LookupError(f"no raw message {raw_id}")
            if raw.state != "new":  # finished elsewhere while we parsed
                return Outcome(
                    raw_id, raw.message_id, raw.outcome or raw.state, raw.reason or "already done"
                )
            outcome = act(app=app, session=session, raw=raw, mail=mail, verdict=verdict)
            raw.state, raw.outcome, raw.reason = "done", outcome.outcome, outcome.reason
            raw.processed_at = app.clock.now()
            session.add(raw)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.error("message %s quarantined: %s", raw_id, error)
        with session_scope(app.engine) as session:
            raw = session.get(RawMessage, raw_id, with_for_update=True)
            if raw is None:
                raise
            if raw.state != "new":
                # Another processor (`mailbot ingest` beside `mailbot run`) filed it first and
                # the unique constraints stopped this second filing: its outcome stands.
                log.info("message %s was processed elsewhere meanwhile (%s)", raw_id, error)
                return Outcome(raw_id, raw.message_id, raw.outcome or raw.state, "already done")
            raw.state, raw.outcome = "quarantined", "quarantine"
            raw.reason = error + "\n" + "".join(traceback.format_exc(limit=8))[-4000:]
            raw.processed_at = app.clock.now()
            session.add(raw)
            return Outcome(raw_id, raw.message_id, "quarantine", error)
    log.info(
        "message %s <%s>: %s (%s)%s",
        raw_id,
        outcome.message_id,
        outcome.outcome,
        outcome.reason,
        f" {outcome.ref} [{outcome.topic}]" if outcome.ref else "",
    )
    return outcome


def pending_ids(*, app: App, limit: int = 500) -> list[int]:
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(RawMessage.id)
                .where(RawMessage.state == "new")
                .order_by(RawMessage.id)  # type: ignore[arg-type]
                .limit(limit)
            )
        )


def process_pending(
    *, app: App, limit: int | None = None, progress: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Process every stored message not yet processed, oldest first."""
    outcomes: list[Outcome] = []
    while limit is None or len(outcomes) < limit:
        batch = pending_ids(app=app, limit=min(500, (limit or 500) - len(outcomes)) or 1)
        if not batch:
            break
        for raw_id in batch:
            outcome = process_one(app=app, raw_id=raw_id)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes
