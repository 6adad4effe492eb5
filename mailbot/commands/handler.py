"""Where commands come from (a classify rule) and how they run (the `command` act handler).

Mail to the command address, a Subject that starts with a keyword on mail to the consultation
address, or a reply to a moderator notice is read for commands; the answer is ONE results
message with three sections: done / not understood / ignored (Mailman's Results,
Unprocessed, Ignored).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from mailbot.act import Outcome
from mailbot.addresses import command_address
from mailbot.answer import answer
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.commands.finder import (
    CommandLine,
    Found,
    command_lines,
    find_commands,
    strip_reply_prefix,
)
from mailbot.commands.moderator import MODERATOR, execute_moderator
from mailbot.commands.registry import REF_RE, CommandTable, Context, Result, Usage
from mailbot.config import Settings
from mailbot.conversation.lists import via_list
from mailbot.conversation.newtext import new_text
from mailbot.language import choose_language
from mailbot.models import Participant, RawMessage
from mailbot.moderation.auth import dkim_proof, is_moderator
from mailbot.moderation.tokens import TOKEN_RE, find_tokens
from mailbot.parse import ParsedMail
from mailbot.participants import get_participant


def _addressed_to(mail: ParsedMail, address: str) -> bool:
    address = address.lower()
    return any(a.lower() == address for a in (*mail.envelope_to, *mail.to, *mail.cc))


def to_command_address(mail: ParsedMail, settings: Settings) -> Verdict | None:
    c = settings.consultation
    if c.command_address and _addressed_to(mail, c.command_address):
        if _addressed_to(mail, c.address):
            # To the contribution address too: filed as a contribution AND its commands run.
            return Verdict("both", f"addressed to {c.address} and {c.command_address}")
        return Verdict("command", f"addressed to {c.command_address}")
    return None


# A message whose Subject is a command but whose text says more than this many words that
# are not well-formed commands is a contribution ("Help" + a page about capacity building).
FREE_WORDS = 6


def _is_command_line(line: str, ref_prefix: str, commands: CommandTable) -> bool:
    words = line.split()
    cmd = commands.lookup(words[0]) if words else None
    return cmd is not None and cmd.well_formed(tuple(words[1:]), ref_prefix)


def _text_is_commands(mail: ParsedMail, ref_prefix: str, commands: CommandTable) -> bool:
    lines = command_lines(mail.text)
    free = [line for line in lines if not _is_command_line(line, ref_prefix, commands)]
    return sum(len(line.split()) for line in free) <= FREE_WORDS


def command_subject(
    mail: ParsedMail, settings: Settings, *, commands: CommandTable
) -> Verdict | None:
    """A Subject that is a well-formed command (the road binds `commands` to its table)."""
    subject = strip_reply_prefix(mail.subject)
    marker = f"[{settings.consultation.ref_prefix}-mod]"
    if subject.startswith(marker):
        words = subject[len(marker) :].split()
        ref = words[0] if words and REF_RE.match(words[0]) else None
        return Verdict("command", "reply to a moderator notice", {"ref": ref} if ref else {})
    words = subject.split()
    cmd = commands.lookup(words[0]) if words else None
    if (
        cmd is not None
        and not via_list(mail)  # a list copy's Subject speaks to the list, not to us
        and cmd.name != "end"  # "Thanks!", "Merci": a polite subject, not a command
        and cmd.well_formed(tuple(words[1:]), settings.consultation.ref_prefix)
        and _text_is_commands(mail, settings.consultation.ref_prefix, commands)
    ):
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
        text=new_text(mail.text) or mail.text,
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


PROOF_NEEDED = ("confirm", "unsubscribe", "language")  # participant commands that may ask DKIM
NOT_QUOTED = "[not quoted: we do not know this address yet]"


def known_sender(*, app: App, session: Session, address: str) -> bool:
    """Someone who already took part (or a moderator): their answers may quote their text."""
    if is_moderator(app.settings, address):
        return True
    found = session.exec(select(Participant.id).where(Participant.email == address)).first()
    return found is not None


def with_ref(found: CommandLine, ref: str) -> CommandLine:
    """A bare APPROVE/REJECT/DEFER in a reply to a notice: the notice's reference is meant."""
    cmd = found.command
    if "{ref}" not in cmd.args or (found.args and REF_RE.match(found.args[0])):
        return found
    return CommandLine(found.line, cmd, (ref, *found.args), found.source)


def _run_all(ctx: Context, found: Found) -> tuple[list[dict[str, Any]], list[str]]:
    """Run the found lines in order until one stops the turn; the rest become ignored."""
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
    return done, ignored


def act_command(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    assert raw.id is not None
    known = known_sender(app=app, session=session, address=mail.from_addr)
    found = find_commands(
        mail, lookup=app.road.commands.lookup, max_lines=app.settings.moderation.command_lines
    )
    if default_ref := verdict.data.get("ref"):
        found.commands = [with_ref(line, default_ref) for line in found.commands]
    ctx = Context(
        app=app,
        session=session,
        raw=raw,
        mail=mail,
        lang=answer_language(app=app, session=session, mail=mail),
        tokens=find_tokens(f"{mail.subject}\n{mail.text}"),
    )
    if any(c.command.who == MODERATOR or c.command.name in PROOF_NEEDED for c in found.commands):
        # DKIM (dkimpy may query DNS) before anything is written: no write lock held meanwhile.
        ctx.extra["dkim"] = dkim_proof(mail=mail, raw=raw.raw, settings=app.settings)
    done, ignored = _run_all(ctx, found)
    not_understood = [] if ctx.stop else found.not_understood
    if not known:  # the From may be forged: the answer carries none of the sender's text
        for d in done:
            d["line"] = d["line"].split()[0].upper() if d["line"].split() else ""
        not_understood = [NOT_QUOTED] * min(len(not_understood), 10)
        ignored = [NOT_QUOTED] * min(len(ignored), 10)
    summary = ", ".join(f"{d['line'].split()[0].upper()}:{d['status']}" for d in done)
    reason = f"{verdict.reason}; {summary or 'no command found'}"
    # The outbox guard limits results per recipient (one notice, then silence).
    results = None
    if mail.from_addr:
        results = answer(
            app=app,
            session=session,
            to=[mail.from_addr],
            template="results.txt",
            lang=ctx.lang,
            context={
                "done": done,
                "not_understood": not_understood,
                "ignored": ignored,
                "command_address": command_address(app.settings),
            },
            kind="results",
            dedupe_key=f"results:{mail.from_addr}:{raw.id}",
            in_reply_to=mail.message_id,
            references=mail.references,
            reply_to=command_address(app.settings),
        )
    if results is None:
        reason += "; not answered"
    return Outcome(raw.id, mail.message_id, "command", reason)
