"""The command registry: one small function + metadata per keyword, registered in one place.

`@command(...)` records the name, the keywords in every language (case- and accent-
insensitive), a usage line, an English help line (translations live in templates/<lang>/
help.txt), who may run it, and for moderator commands how to name the item a token binds to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import Session

from mailbot.app import App
from mailbot.models import RawMessage
from mailbot.parse import ParsedMail
from mailbot.topics import fold

Who = Literal["anyone", "author", "moderator"]


@dataclass
class Context:
    """What a command may look at and change while it runs (inside the message's transaction)."""

    app: App
    session: Session
    raw: RawMessage
    mail: ParsedMail
    lang: str  # answers are written in this language (LANGUAGE changes it)
    tokens: list[str]  # every token in the message, quoted text included
    proof: str | None = None  # set for moderator commands once authenticated
    token_args: tuple[str, ...] = ()
    stop: bool = False  # END: read no further
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sender(self) -> str:
        return self.mail.from_addr

    @property
    def now(self):  # type: ignore[no-untyped-def]  # datetime
        return self.app.clock.now()


@dataclass(frozen=True)
class Result:
    status: str  # done | refused | failed
    code: str  # message key in templates/<lang>/results.txt
    params: dict[str, Any] = field(default_factory=dict)
    block: str | None = None  # a longer rendered text (help, topics, status)


class Usage(Exception):
    """The command's arguments are wrong: answered with its usage line."""


Process = Callable[[Context, tuple[str, ...]], Result]
ItemOf = Callable[[Context, tuple[str, ...]], str]


@dataclass(frozen=True)
class Command:
    name: str
    keywords: tuple[str, ...]
    usage: str
    help: str
    who: Who
    process: Process
    item_of: ItemOf | None = None  # moderator commands: what their token is bound to
    args: str = ""  # regex of well-formed arguments ({ref} = a reference), for Subject lines

    def well_formed(self, args: tuple[str, ...], ref_prefix: str) -> bool:
        """Do these arguments fit the command? (A Subject such as "Help with the mandate"
        or "Status of civil society" on the consultation address is not a command.)"""
        ref = rf"[\[(#<]*{ref_prefix}-?\d{{1,9}}[\])>.,;:!?]*"
        pattern = self.args.replace("{ref}", ref)
        text = " ".join(a for a in args if not TOKEN_WORD.fullmatch(a))
        return re.fullmatch(pattern, text, re.I) is not None


TOKEN_WORD = re.compile(r"mbt\.[a-z2-7]{10}\.[0-9a-z]{1,8}\.[a-z2-7]{24}", re.I)
COMMANDS: dict[str, Command] = {}
_KEYWORDS: dict[str, str] = {}


def command(
    name: str,
    *,
    keywords: tuple[str, ...],
    usage: str,
    help: str,
    who: Who = "anyone",
    item_of: ItemOf | None = None,
    args: str = "",
) -> Callable[[Process], Process]:
    def register(fn: Process) -> Process:
        cmd = Command(name, (name.upper(), *keywords), usage, help, who, fn, item_of, args)
        COMMANDS[name] = cmd
        for word in cmd.keywords:
            _KEYWORDS[fold(word)] = name
        return fn

    return register


def lookup(word: str) -> Command | None:
    """The command a keyword names (`approve`, `Approuver:`, `APROBAR`), or None."""
    key = fold(re.sub(r"^[^\w]+|[^\w]+$", "", word))
    name = _KEYWORDS.get(key)
    return COMMANDS.get(name) if name else None


REF_RE = re.compile(r"^[\[(#<]*([A-Za-z][A-Za-z0-9]*)-?(\d{1,9})[\])>.,;:!?]*$")


def parse_ref(ctx: Context, word: str) -> str | None:
    match = REF_RE.match(word)
    prefix = ctx.app.consultation.ref_prefix
    if not match or match.group(1).upper() != prefix:
        return None
    return f"{prefix}-{int(match.group(2)):04d}"


def ref_item(ctx: Context, args: tuple[str, ...]) -> str:
    ref = parse_ref(ctx, args[0]) if args else None
    if ref is None:
        raise Usage("a reference")
    return ref
