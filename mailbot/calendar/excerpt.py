"""What a digest shows of a contribution: its title without subject tags, and an excerpt of
the author's own new text (conversation/newtext owns the split) without the sign-off, cut at a
sentence or word boundary with an ellipsis; list items keep a line each."""

from __future__ import annotations

import re

from mailbot.conversation.newtext import new_text

# "[composition] ", "[caucus] [métodos] " before the words, or after a "Re:"/"RE :"/"TR:".
_TAGS = re.compile(r"^((?:(?:re|fwd?|tr|rv|aw|sv)\s?:\s*)*)((?:\[[^\[\]]{0,64}\]\s*)+)", re.I)
_BULLET = re.compile(r"^(?:[-*•·–]|\d{1,3}[.)])\s+")
# A closing formula on its own line, maybe with a name after it on the same line.
_SIGN_OFF = re.compile(
    r"^(?:best|best regards|regards|kind regards|cheers|thanks|thank you|many thanks|"
    r"cordialement|bien cordialement|amitiés|bien à vous|merci|salutations|"
    r"saludos|un saludo|atentamente|cordiales saludos|gracias|muchas gracias)\b[\s,.!]*",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?…](?=\s|$)|[。！？]")
ELLIPSIS = "…"


def clean_title(subject: str) -> str:
    """The subject without its bracketed tags ("[métodos] Seats" -> "Seats"); a subject that
    is nothing but tags stays as it was."""
    match = _TAGS.match(subject.strip())
    if not match:
        return subject.strip()
    rest = subject.strip()[match.end() :].strip()
    return f"{match.group(1)}{rest}".strip() if rest else subject.strip()


def _closing(line: str, names: set[str]) -> bool:
    """Is this line a sign-off: "Best regards,", "Ana", "--"?"""
    if _SIGN_OFF.fullmatch(line) or (_SIGN_OFF.match(line) and len(line.split()) <= 5):
        return True
    if names and line.rstrip(",.").casefold() in names:
        return True
    return len(line) <= 2 or line == "--"


def _without_sign_off(lines: list[str], author: str | None) -> list[str]:
    """Drop the trailing "Best, Ana" / "Ana" lines the author closes with."""
    names = {n.casefold() for n in [*(author or "").split(), author or ""] if n}
    while lines and _closing(lines[-1].strip(), names):
        lines.pop()
    return lines


def _sign_off_at_end(text: str, author: str | None) -> str:
    """ "... in the room. Ana" on one line: the name after the last sentence goes too."""
    for name in filter(None, [author, (author or "").split()[0] if author else None]):
        if text.endswith(f" {name}") and _SENTENCE_END.search(text[: -len(name) - 1][-2:]):
            return text[: -len(name) - 1].rstrip()
    return text


def cut(text: str, limit: int) -> str:
    """`text` if short enough; else its longest run of whole sentences under `limit` (when
    that keeps at least two fifths of it), else whole words, and an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head) if m.end() <= limit]
    if ends and ends[-1] >= limit * 2 // 5:
        return head[: ends[-1]].rstrip() + " " + ELLIPSIS
    space = max(head.rfind(" "), head.rfind("\n"))  # head is limit + 1: a word ending at
    words = head[:space] if space > 0 else head[:limit]  # the limit is whole
    return words.rstrip(" ,;:-–") + ELLIPSIS


def excerpt(text: str, *, lines: int, limit: int = 300, author: str | None = None) -> str:
    """The first `lines` paragraphs-or-items of the author's new text (no quote, attribution
    or signature), joined: a paragraph's lines run on, a list item starts a new line."""
    kept: list[str] = []
    for raw in (new_text(text) or text).splitlines():
        line = raw.strip()
        if line.startswith(">"):
            continue
        kept.append(line)
    blocks: list[str] = []
    for line in _without_sign_off(kept, author):
        if not line:
            if blocks and blocks[-1]:
                blocks.append("")
            continue
        if _BULLET.match(line) or not blocks or not blocks[-1]:
            blocks.append("• " + _BULLET.sub("", line) if _BULLET.match(line) else line)
        else:
            blocks[-1] += " " + line
    shown = [b for b in blocks if b][:lines]
    joined = "\n".join(shown)
    if len([b for b in blocks if b]) > lines and len(joined) <= limit:
        return _sign_off_at_end(joined, author) + " " + ELLIPSIS
    return cut(_sign_off_at_end(joined, author), limit)
