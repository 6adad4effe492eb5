"""How an author says, by e-mail alone, how their contribution is published.

Three ways, in English, French or Spanish (accents and case do not matter):
- a tag in the Subject: `[anonymous]`, `[anonyme]`, `[anónimo]`, `[confidential]`,
  `[confidentiel]`, `[confidencial]`, `[name]`, `[nom]`, `[nombre]`;
- a line of the author's new text: `Publish: anonymous` (`Publier :`, `Publicar:`);
- later, the command `PUBLISH WGIG-0042 ANONYMOUS|NAME|CONFIDENTIAL` (privacy.commands).
An `Organisation: ISOC France` line (`Organization:`, `Organisme :`, `Organización:`) says
the author writes for an organisation; it is shown with the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.conversation.newtext import author_words
from mailbot.parse import ParsedMail
from mailbot.privacy.shown import ANONYMOUS, CONFIDENTIAL, NAME
from mailbot.topics import fold

# Folded words (see topics.fold) for each choice, in every language we speak.
WORDS: dict[str, tuple[str, ...]] = {
    NAME: ("name", "named", "nom", "nominatif", "nombre", "public"),
    ANONYMOUS: ("anonymous", "anonyme", "anonimo", "anonima", "anon"),
    CONFIDENTIAL: ("confidential", "confidentiel", "confidentielle", "confidencial"),
}
BY_WORD = {word: choice for choice, words in WORDS.items() for word in words}
# Subject tags: only the unmistakable words ("[public]" or "[name]" may be a topic's tag).
TAG_WORDS = {w: c for w, c in BY_WORD.items() if c != NAME or w in ("nom", "nombre")}
TAG_RE = re.compile(r"\[\s*([^\[\]]{2,20}?)\s*\]")
PUBLISH_RE = re.compile(r"^\s*(publish|publier|publicar|publication)\s*:\s*(.+?)\s*$", re.I)
ORG_RE = re.compile(
    r"^\s*(organi[sz]ation|organisme|organizaci[oó]n|organizacion)\s*:\s*(.{2,120}?)\s*$", re.I
)
MAX_LINES = 40  # lines of the new text read for these lines (they sit at the top or bottom)
NONE_WORDS = ("none", "aucune", "ninguna", "-", "individual", "individuel", "particulier")


@dataclass(frozen=True)
class Choice:
    publication: str | None  # name | anonymous | confidential, or None: not said
    organisation: str | None = None
    how: str = ""  # subject | line | command: where the author said it


def choice_word(word: str) -> str | None:
    """The choice a word names (`ANONYME`, `anónimo`, `Name`), or None."""
    return BY_WORD.get(fold(word.strip(" .,;:!?()[]<>\"'")))


def subject_choice(subject: str) -> str | None:
    for match in TAG_RE.finditer(subject):
        found = TAG_WORDS.get(fold(match.group(1)))
        if found:
            return found
    return None


def strip_choice_tags(subject: str) -> str:
    """The subject without its choice tags (the choice is kept in its own column)."""

    def drop(match: re.Match[str]) -> str:
        return "" if fold(match.group(1)) in TAG_WORDS else match.group(0)

    return " ".join(TAG_RE.sub(drop, subject).split())


def text_lines(mail: ParsedMail) -> list[str]:
    lines = [line for line in author_words(mail).split("\n") if line.strip()]
    return lines[:MAX_LINES] + lines[MAX_LINES:][-MAX_LINES:]


def read_choice(mail: ParsedMail, *, bare: bool = False, subject: bool = True) -> Choice:
    """The choice and organisation a message states (a Publish line wins over a tag);
    `bare`: a line that is only a choice word counts too (a reply to a receipt)."""
    publication = subject_choice(mail.subject) if subject else None
    how = "subject"
    organisation = None
    for line in text_lines(mail):
        words = line.split()
        if bare and len(words) == 1 and choice_word(words[0]):
            publication, how = choice_word(words[0]), "line"
        elif match := PUBLISH_RE.match(line):
            said = choice_word(match.group(2).split()[0]) if match.group(2).split() else None
            if said:
                publication, how = said, "line"
        elif match := ORG_RE.match(line):
            name = match.group(2).strip()
            organisation = None if fold(name) in NONE_WORDS else name
    return Choice(publication, organisation, how if publication else "")


def only_choice(mail: ParsedMail, *, free_words: int = 6) -> bool:
    """Does the new text say little besides a choice? (a bare answer to a receipt)"""
    free = 0
    for line in text_lines(mail):
        if PUBLISH_RE.match(line) or ORG_RE.match(line):
            continue
        words = line.split()
        if len(words) == 1 and choice_word(words[0]):
            continue
        free += len(words)
    return free <= free_words
