"""The author's own words: a text split into new text, quoted text and signature.

Hand-written rules (the command finder's, which know the reply headers of Thunderbird,
Outlook, Gmail and Apple Mail in EN/FR/ES/DE/PT and `>` quotes) run first; mail-parser-reply
(a maintained library, many languages) is asked only when they keep the whole text, so its
extra reply headers are used without its misses (bench/bench_reply_split.py compares both
on the talon fixtures and the client replies in tests/conversation/client_replies.py).
Topic keywords, language detection, command finding (CONFIRM's token: `new_text_of`), digest
excerpts, synthesis and feeds read `new`; the stored raw message and the receipt's SHA-256 (of
the whole text) do not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage

from mailbot.conversation.quotes import MOBILE_FOOTER, SIGNATURE, unquoted_text
from mailbot.parse import ParsedMail

MAX_SPLIT = 200_000  # characters read for the split; the rest counts as quoted


@dataclass(frozen=True)
class AuthorText:
    new: str  # what the author wrote in this message, signature excluded
    quoted: str  # what they quoted or forwarded (everything after the new text)
    signature: str  # after "-- " or a mobile footer


LIBRARY = EmailReplyParser(languages=["en", "fr", "es", "de", "pt", "it", "nl"])
# The library is driven with patterns of our own. Its newest reply is the text before the first
# reply header its header pattern finds, but that pattern is tried at every character (1.8 ms
# for 4 KB of text) and `read` runs its signature and disclaimer patterns on every part too,
# for what we never read. Every header it knows starts at a line start or a line break (each
# alternative begins with "^" or "\n": tests/conversation/test_newtext_library.py checks that),
# so the same pattern behind `(?:^|(?=\n))` finds the same headers, trying lines only (0.2 ms).
_LIBRARY_HEADERS = EmailMessage(text="", languages=list(LIBRARY.languages)).HEADER_REGEX
HEADERS = re.compile(rf"(?:^|(?=\n))(?:{_LIBRARY_HEADERS.pattern})", _LIBRARY_HEADERS.flags)
NEVER = re.compile(r"\A(?!)")  # anchored: the engine gives up at the first character


def _library_reply(text: str) -> str | None:
    """mail-parser-reply's idea of the newest reply (signature kept), or None on failure."""
    try:
        message = EmailMessage(
            text=text,
            languages=list(LIBRARY.languages),
            _header_regex=HEADERS,
            _disclaimers_regex=NEVER,
            _signature_regex=NEVER,
        )
        reply = message.read().latest_reply
    except Exception:  # the library must never cost us a message
        return None
    return reply if isinstance(reply, str) else None


def cut_signature(text: str) -> tuple[str, str]:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if SIGNATURE.match(line) or MOBILE_FOOTER.match(line):
            return "\n".join(lines[:i]).rstrip(), "\n".join(lines[i:]).strip()
    return text, ""


@lru_cache(maxsize=256)
def split_text(text: str) -> AuthorText:
    """Split once per text (cached: several steps ask about the same message)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text[:MAX_SPLIT]
    reply = unquoted_text(head)
    if reply.split() == head.split():  # no quote found by our rules: ask the library
        library = (_library_reply(head) or "").strip()
        if library and len(library) < len(reply.strip()):
            reply = library
    new, signature = cut_signature(reply)
    quoted = _quoted_part(text, reply)
    return AuthorText(new=new.strip(), quoted=quoted, signature=signature)


def _quoted_part(text: str, reply: str) -> str:
    """The lines of `text` that are not in the reply (quotes, attributions, old message)."""
    kept = {line.rstrip() for line in reply.split("\n") if line.strip()}
    return "\n".join(line for line in text.split("\n") if line.rstrip() not in kept).strip()


def new_text(text: str) -> str:
    return split_text(text).new


def author_words(mail: ParsedMail) -> str:
    """The author's new words, or the whole text when nothing is new: the reading's when
    prepare made one (reading.py, maybe in another process), else split here."""
    if mail.reading is not None:
        return mail.reading.new_text
    return new_text(mail.text) or mail.text


def new_text_of(mail: ParsedMail) -> str:
    """What the sender wrote in this message: the Subject and the new text of the body (a
    CONFIRM token quoted from our message under "I never sent that" is not in it)."""
    return f"{mail.subject}\n{new_text(mail.text)}"


THANKS = re.compile(
    r"^(?:many |thanks?|thank you|thx|merci|gracias|danke|obrigad[oa]|grazie|ok(?:ay)?|noted"
    r"|received|bien re[cç]u|re[cç]u|recibido|perfect|parfait|perfecto|great|super"
    r"|beaucoup|muchas|vielen|dank|so much|a lot|again|de nouveau|\W)+$",
    re.I,
)
GREETING = re.compile(
    r"^(?:hi|hello|dear|bonjour|hola|hallo|ol[aá]|cordialement|regards|best|cheers|saludos"
    r"|gr[uü](?:ss|ß)e|atenciosamente|\W)+\b.{0,30}$",
    re.I,
)


THANKS_WORDS = 12  # "Merci !" + "Ana Pérez" + "Digital Rights NGO": still only thanks


def says_nothing(text: str) -> bool:
    """Empty, or only greetings and thanks ("Thanks!", "Merci beaucoup", "OK, received"),
    possibly signed by a name and an organisation without a "-- " line."""
    new = new_text(text)
    lines = [line.strip() for line in new.split("\n") if line.strip()]
    words = sum(len(line.split()) for line in lines)
    if not lines:
        return True
    if any(THANKS.match(line) for line in lines) and words <= THANKS_WORDS:
        return True
    meaningful = [ln for ln in lines if not THANKS.match(ln) and not GREETING.match(ln)]
    return not meaningful and words <= 20
