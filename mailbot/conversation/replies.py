"""Replies to the bot's own mail, and mail to both our addresses.

A message whose In-Reply-To or References name one of our outgoing Message-IDs (ours start
with `mailbot.` on our domain) is a reply to that mail (rule 45, before the command rules):
- commands in its new text run (a bare APPROVE/REJECT/DEFER to a moderator notice means the
  notice's reference);
- otherwise, a reply to a receipt (or any answer about a contribution) with real new text
  is a follow-up contribution in the same thread; a reply to the digest or a reminder is a
  new contribution whose topic comes from its own new text;
- an empty or thanks-only reply, or a reply to a moderator notice with no command, is
  logged (outcome `reply-logged`) and not filed.
A message to both the contribution and the command address is filed and its commands run.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session, col, select

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.commands.finder import find_commands
from mailbot.commands.handler import act_command, with_ref
from mailbot.config import Settings
from mailbot.contributions import act_contribution
from mailbot.conversation.newtext import says_nothing
from mailbot.models import Contribution, OutboxMessage, RawMessage
from mailbot.parse import ParsedMail

# Answers a reply to which may carry a contribution's follow-up.
NEW_THREAD_KINDS = frozenset({"digest", "reminder"})


def our_ids(mail: ParsedMail, settings: Settings) -> list[str]:
    """Our Message-IDs this mail answers, nearest first (In-Reply-To, then References)."""
    suffix = "@" + settings.consultation.domain.lower()
    named = [mail.in_reply_to or "", *reversed(mail.references)]
    found = [
        mid for mid in named if mid.lower().startswith("mailbot.") and mid.lower().endswith(suffix)
    ]
    return list(dict.fromkeys(found))


def reply_to_our_mail(mail: ParsedMail, settings: Settings) -> Verdict | None:
    ids = our_ids(mail, settings)
    if not ids:
        return None
    return Verdict("reply", f"reply to our message <{ids[0]}>", {"ours": ids})


def _addressed_to(mail: ParsedMail, address: str) -> bool:
    address = address.lower()
    return any(a.lower() == address for a in (*mail.envelope_to, *mail.to, *mail.cc))


def answered(*, session: Session, ids: list[str]) -> OutboxMessage | None:
    rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.message_id).in_(ids))).all()
    by_id = {row.message_id: row for row in rows}
    return next((by_id[i] for i in ids if i in by_id), None)


def runnable_commands(*, app: App, mail: ParsedMail, ref: str | None) -> bool:
    """Does the new text hold a real command? "Status of the talks..." or "Thanks!" at the
    top of a reply is prose, not STATUS or END."""
    prefix = app.consultation.ref_prefix
    found = find_commands(
        mail, lookup=app.road.commands.lookup, max_lines=app.settings.moderation.command_lines
    )
    for line in found.commands:
        line = with_ref(line, ref) if ref else line
        if line.command.name != "end" and line.command.well_formed(line.args, prefix):
            return True
    return False


def act_reply(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    assert raw.id is not None
    ours = answered(session=session, ids=list(verdict.data.get("ours", ())))
    kind = ours.kind if ours else "unknown"
    ref = None
    if ours is not None and ours.contribution_id is not None:
        contribution = session.get(Contribution, ours.contribution_id)
        ref = contribution.ref if contribution else None
    reason = f"{verdict.reason} ({kind}{' ' + ref if ref else ''})"
    c = app.consultation
    # Mail to the command address alone is never filed, reply or not.
    commands_only = bool(c.command_address) and (
        _addressed_to(mail, c.command_address or "") and not _addressed_to(mail, c.address)
    )
    notice_ref = ref if kind == "notice" else None
    if commands_only or runnable_commands(app=app, mail=mail, ref=notice_ref):
        data = {"ref": notice_ref} if notice_ref else {}
        return act_command(
            app=app, session=session, raw=raw, mail=mail, verdict=Verdict("command", reason, data)
        )
    if kind == "notice" or says_nothing(mail.text):
        return Outcome(raw.id, mail.message_id, "reply-logged", f"{reason}; nothing new: not filed")
    outcome = act_contribution(
        app=app, session=session, raw=raw, mail=mail, verdict=Verdict("contribution", reason)
    )
    follow = "new contribution" if kind in NEW_THREAD_KINDS else "follow-up contribution"
    return replace(outcome, reason=f"{reason}; {follow}; {outcome.reason}")


def act_both(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """To the contribution AND the command address: filed, then its commands run."""
    filed = act_contribution(app=app, session=session, raw=raw, mail=mail, verdict=verdict)
    if not runnable_commands(app=app, mail=mail, ref=None):
        return filed  # prose that starts with a keyword ("Status of the talks") is not run
    ran = act_command(app=app, session=session, raw=raw, mail=mail, verdict=verdict)
    return replace(filed, reason=f"{filed.reason}; {ran.reason}")
