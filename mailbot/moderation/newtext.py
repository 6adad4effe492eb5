"""The new text of a reply: the Subject and the body lines above the quoted original.

Small and local on purpose (the command finder has its own, fuller splitter): it only has to
keep a CONFIRM token that sits in quoted text from counting as something the sender wrote.
"""

from __future__ import annotations

import re

from mailbot.parse import ParsedMail

# Where the quoted original starts: an attribution ("On ... wrote:", "Le ... a écrit :"), an
# "Original Message" / forwarded separator, or an Outlook header block ("From: ...").
QUOTE_START = re.compile(
    r"(?:wrote|writes|a\s+[ée]crit|escribi[óo]|schrieb|ha\s+scritto|schreef|escreveu)\s*:\s*$"
    r"|^\s*-{2,}\s*(?:original message|message d'origine|mensaje original|forwarded message"
    r"|message transf[ée]r[ée]|mensaje reenviado)\s*-{2,}\s*$"
    r"|^\s*_{10,}\s*$|^\s*\*?(?:from|de|von)\s*:\*?\s+\S",
    re.I,
)


def new_text(text: str) -> str:
    """The lines the sender wrote: up to the first sign of a quoted original, '>' lines out."""
    kept: list[str] = []
    for line in text.splitlines():
        if QUOTE_START.search(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept)


def new_text_of(mail: ParsedMail) -> str:
    return f"{mail.subject}\n{new_text(mail.text)}"
