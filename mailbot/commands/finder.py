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

from mailbot.conversation.quotes import MOBILE_FOOTER, SIGNATURE, unquoted_text
from mailbot.parse import ParsedMail

REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|rv|sv|vs|antw|res|enc)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)


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
        # One answer per command: "Thèmes" in the Subject and "THEMES" in the text are the
        # same command, whatever the language or case of its keyword.
        key = " ".join((command.name, *args)).casefold()
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
