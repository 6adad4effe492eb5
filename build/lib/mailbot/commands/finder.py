"""The command finder: which lines of a message are commands, never reading quoted text.

Reads the Subject (after Re:/Fwd: prefixes) and the first N non-blank lines of the new text
of the text part: quoted lines (`>`), reply attributions ("On ... wrote:", "Le ... a écrit :",
"El ... escribió:", "Am ... schrieb:"), forwarded / "Original Message" blocks, Outlook header
blocks ("From: ... Sent: ...") and the signature (after `-- `) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailbot.parse import ParsedMail

REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|rv|sv|vs|antw|res|enc)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)
# The end of a reply attribution line, in the languages mail clients write it.
ATTRIBUTION_END = re.compile(
    r"(wrote|writes|a\s+[ée]crit|escribi[óo]|schrieb|ha\s+scritto|schreef|escreveu|skrev"
    r"|kirjoitti|napisa[łl]|написал[аи]?)\s*:\s*$",
    re.I,
)
ATTRIBUTION_START = re.compile(r"^\s*(on|le|el|am|il|op|em|w|\d{1,4}[./-]\d{1,2})\b", re.I)
SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(original message|message d'origine|mensaje original|urspr[üu]ngliche"
    r" nachricht|forwarded message|message transf[ée]r[ée]|mensaje reenviado)\s*-{2,}\s*$",
    re.I,
)
HEADER_FROM = re.compile(r"^\s*\*?(from|de|von|van|da)\s*:\*?\s+\S", re.I)
HEADER_SENT = re.compile(
    r"^\s*\*?(sent|date|envoy[ée]|enviado|fecha|gesendet|datum)\s*:\*?\s+\S", re.I
)
UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
SIGNATURE = re.compile(r"^-- ?$")
# Mobile footers act as a signature for commands (the reply text itself keeps them).
MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my|envoy[ée] de mon|enviado desde mi|von meinem)\b.{0,40}$", re.I
)


def is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_nonblank(lines: list[str], start: int) -> int | None:
    for j in range(start, len(lines)):
        if lines[j].strip():
            return j
    return None


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style header block: From: followed within a few lines by Sent:/Date:."""
    if not HEADER_FROM.match(lines[i]):
        return False
    return any(HEADER_SENT.match(line) for line in lines[i + 1 : i + 5])


def _introduces_quote(lines: list[str], i: int) -> bool:
    """Any line ending with ':' right before a '>' block ("Am ... schrieb X <a@b>:")."""
    j = _next_nonblank(lines, i + 1)
    return lines[i].rstrip().endswith(":") and j is not None and is_quoted(lines[j])


def unquoted_text(text: str) -> str:
    """The new text of a reply: quoted parts and attributions removed, signature kept."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if is_quoted(line):
            i += 1
            continue
        if (
            SEPARATOR.match(line)
            or _header_block(lines, i)
            or (
                UNDERSCORES.match(line)
                and (j := _next_nonblank(lines, i + 1)) is not None
                and _header_block(lines, j)
            )
        ):
            break  # everything after is the forwarded or replied-to message
        if ATTRIBUTION_END.search(line) or _introduces_quote(lines, i):
            # A two-line attribution ("On ..., Name <a@b>" / "wrote:"): drop its first half.
            if not ATTRIBUTION_START.match(line) and kept and kept[-1].strip():
                kept.pop()
            j = _next_nonblank(lines, i + 1)
            if j is not None and not is_quoted(lines[j]):
                break  # quoted without ">": all that follows is the old message
            i += 1
            continue
        kept.append(line.rstrip())
        i += 1
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def command_lines(text: str) -> list[str]:
    """Non-blank lines of the new text before the signature: where commands may be."""
    out: list[str] = []
    for line in unquoted_text(text).split("\n"):
        if SIGNATURE.match(line) or MOBILE_FOOTER.match(line):
            break
        if line.strip():
            out.append(line.strip())
    return out


def strip_reply_prefix(subject: str) -> str:
    return REPLY_PREFIX.sub("", subject).strip()


@dataclass(frozen=True)
class CommandLine:
    line: str  # as written
    command: Any  # mailbot.commands.registry.Command
    args: tuple[str, ...]
    source: str  # subject | body


@dataclass
class Found:
    commands: list[CommandLine] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


Lookup = Callable[[str], Any]


def split_line(line: str) -> tuple[str, tuple[str, ...]]:
    words = line.split()
    return (words[0] if words else ""), tuple(words[1:])


def find_commands(mail: ParsedMail, *, lookup: Lookup, max_lines: int = 10) -> Found:
    """Commands from the Subject and the first `max_lines` lines of new text."""
    found = Found()
    seen: set[str] = set()

    def take(line: str, source: str) -> bool:
        word, args = split_line(line)
        command = lookup(word)
        if command is None:
            return False
        key = " ".join(line.split()).casefold()
        if key in seen:
            found.ignored.append(line)  # the same command twice (Subject and body)
            return True
        seen.add(key)
        found.commands.append(CommandLine(line, command, args, source))
        return True

    subject = strip_reply_prefix(mail.subject)
    if subject:
        take(subject, "subject")
    lines = command_lines(mail.text)
    for n, line in enumerate(lines):
        if n >= max_lines:
            found.ignored.extend(lines[n:])
            break
        if not take(line, "body"):
            found.not_understood.append(line)
    return found
