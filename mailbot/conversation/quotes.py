"""Quoted text in a reply: `>` lines, reply attributions and forwarded/original blocks.

Pure text rules with no dependencies, shared by the command finder and the author-text split
(mailbot.conversation.newtext). Attributions as the clients write them: "On ... wrote:",
"Le ... a écrit :", "El ... escribió:", "Am ... schrieb:", "Em ... escreveu:"; Outlook's
"-----Original Message-----" and "From:/De :/Von: ... Sent:/Envoyé :/Gesendet:" blocks.
"""

from __future__ import annotations

import re

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
        # Both end the line with ":"; the cheap test first (the search scans the whole line).
        if line.rstrip().endswith(":") and (
            ATTRIBUTION_END.search(line) or _introduces_quote(lines, i)
        ):
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
