"""The table of e-mail commands: one small function + metadata per keyword.

`@command(...)` turns a function into a `Command` (it registers nothing): the name, the
keywords in every language (case- and accent-insensitive), a usage line, an English help
line (translations live in templates/<lang>/help.txt), who may run it, and for moderator
commands how to name the item a token binds to.
The road lists the commands (`Road.commands`, a `CommandTable`) in the order HELP shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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


def command(
    name: str,
    *,
    keywords: tuple[str, ...],
    usage: str,
    help: str,
    who: Who = "anyone",
    item_of: ItemOf | None = None,
    args: str = "",
) -> Callable[[Process], Command]:
    """The decorated function becomes the `Command` it describes (listed in mailbot/road.py)."""

    def describe(fn: Process) -> Command:
        # The module's name now holds the Command; pickle (the road crosses to the pipeline's
        # child process) finds the function again as `<name>.process`.
        fn.__qualname__ = f"{fn.__qualname__}.process"
        return Command(name, (name.upper(), *keywords), usage, help, who, fn, item_of, args)

    return describe


@dataclass(frozen=True)
class CommandTable:
    """The commands of a road, found by name or by any of their keywords."""

    commands: tuple[Command, ...]
    by_keyword: dict[str, Command] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {fold(word): cmd for cmd in self.commands for word in cmd.keywords}
        object.__setattr__(self, "by_keyword", index)

    def __iter__(self) -> Iterator[Command]:
        return iter(self.commands)

    def get(self, name: str) -> Command | None:
        return next((c for c in self.commands if c.name == name), None)

    def lookup(self, word: str) -> Command | None:
        """The command a keyword names (`approve`, `Approuver:`, `APROBAR`), or None."""
        return self.by_keyword.get(fold(re.sub(r"^[^\w]+|[^\w]+$", "", word)))


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


def consultation_item(ctx: Context, args: tuple[str, ...]) -> str:
    """The item of a command on the whole consultation (CLOSE, STATS)."""
    return ctx.app.consultation.id
