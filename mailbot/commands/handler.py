"""Where commands come from (a classify rule) and how they run (the `command` act handler).

Mail to the command address, a Subject that starts with a keyword on mail to the consultation
address, or a reply to a moderator notice is read for commands; the answer is ONE results
message with three sections: done / not understood / ignored (Mailman's Results,
Unprocessed, Ignored).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.answer import answer
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.commands.finder import CommandLine, find_commands, strip_reply_prefix
from mailbot.commands.moderator import MODERATOR, execute_moderator
from mailbot.commands.registry import CommandTable, Context, Result, Usage
from mailbot.config import Settings
from mailbot.language import choose_language
from mailbot.models import OutboxMessage, RawMessage
from mailbot.moderation.policy import command_address
from mailbot.moderation.tokens import TOKEN_RE, find_tokens
from mailbot.parse import ParsedMail
from mailbot.participants import get_participant

RESULTS_PER_HOUR = 20  # answers to one address per hour: no backscatter storms


def _addressed_to(mail: ParsedMail, address: str) -> bool:
    address = address.lower()
    return any(a.lower() == address for a in (*mail.envelope_to, *mail.to, *mail.cc))


def to_command_address(mail: ParsedMail, settings: Settings) -> Verdict | None:
    c = settings.consultation
    if c.command_address and _addressed_to(mail, c.command_address):
        return Verdict("command", f"addressed to {c.command_address}")
    return None


def command_subject(
    mail: ParsedMail, settings: Settings, *, commands: CommandTable
) -> Verdict | None:
    """A Subject that is a well-formed command (the road binds `commands` to its table)."""
    subject = strip_reply_prefix(mail.subject)
    if subject.startswith(f"[{settings.consultation.ref_prefix}-mod]"):
        return Verdict("command", "reply to a moderator notice")
    words = subject.split()
    cmd = commands.lookup(words[0]) if words else None
    if cmd is not None and cmd.well_formed(tuple(words[1:]), settings.consultation.ref_prefix):
        return Verdict("command", f"Subject is the command {cmd.name.upper()}")
    return None


def answer_language(*, app: App, session: Session, mail: ParsedMail) -> str:
    found = get_participant(session=session, email=mail.from_addr)
    chosen = found.language if found else None
    c = app.consultation
    if chosen in c.languages:
        return str(chosen)
    return choose_language(
        content_language=mail.content_language,
        text=mail.text,
        supported=c.languages,
        default=c.default_language,
    )


def run_line(ctx: Context, found: CommandLine) -> Result:
    cmd = found.command
    explicit = tuple(a.lower() for a in found.args if TOKEN_RE.fullmatch(a.lower()))
    args = tuple(a for a in found.args if not TOKEN_RE.fullmatch(a.lower()))
    try:
        if cmd.who == MODERATOR:
            return execute_moderator(ctx, cmd, args, explicit=explicit, line=found.line)
        ctx.tokens = list(dict.fromkeys([*explicit, *ctx.tokens]))
        return cmd.process(ctx, args if cmd.name != "confirm" else found.args)
    except Usage:
        return Result("failed", "usage", {"usage": cmd.usage})


def _results_allowed(*, app: App, session: Session, to: str) -> bool:
    since = app.clock.now() - timedelta(hours=1)
    sent = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "results")
        .where(OutboxMessage.dedupe_key.startswith(f"results:{to}:"))
        .where(OutboxMessage.created_at >= since)
    ).one()
    return sent < RESULTS_PER_HOUR


def act_command(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    assert raw.id is not None
    found = find_commands(
        mail, lookup=app.road.commands.lookup, max_lines=app.settings.moderation.command_lines
    )
    ctx = Context(
        app=app,
        session=session,
        raw=raw,
        mail=mail,
        lang=answer_language(app=app, session=session, mail=mail),
        tokens=find_tokens(f"{mail.subject}\n{mail.text}"),
    )
    done: list[dict[str, Any]] = []
    ignored = list(found.ignored)
    for n, line in enumerate(found.commands):
        if ctx.stop:
            ignored.extend(c.line for c in found.commands[n:])
            break
        result = run_line(ctx, line)
        done.append(
            {
                "line": line.line,
                "status": result.status,
                "code": result.code,
                "params": result.params,
                "block": result.block,
            }
        )
    not_understood = [] if ctx.stop else found.not_understood
    summary = ", ".join(f"{d['line'].split()[0].upper()}:{d['status']}" for d in done)
    reason = f"{verdict.reason}; {summary or 'no command found'}"
    if mail.from_addr and _results_allowed(app=app, session=session, to=mail.from_addr):
        answer(
            app=app,
            session=session,
            to=[mail.from_addr],
            template="results.txt",
            lang=ctx.lang,
            context={
                "done": done,
                "not_understood": not_understood,
                "ignored": ignored,
                "command_address": command_address(app),
            },
            kind="results",
            dedupe_key=f"results:{mail.from_addr}:{raw.id}",
            in_reply_to=mail.message_id,
            references=mail.references,
            reply_to=command_address(app),
        )
    else:
        reason += "; not answered"
    return Outcome(raw.id, mail.message_id, "command", reason)
