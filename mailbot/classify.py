"""Classify: an ordered table of small rules; the first that fires decides, with its reason.

Order matters: our own mail coming back, then bounces, then automatic replies, then commands,
then contributions — so nothing automatic is ever acknowledged or run as a command.
The table itself is `Road.rules` (mailbot/road.py), in this order: own loop | bounces |
automatic replies | commands | no sender | contribution (the catch-all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailbot.addresses import command_address, contribution_address, loop_mark
from mailbot.config import Settings
from mailbot.parse import ParsedMail


@dataclass(frozen=True)
class Verdict:
    kind: str  # loop | bounce | autoreply | command | contribution | ...
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


Check = Callable[[ParsedMail, Settings], "Verdict | None"]


@dataclass(frozen=True)
class Rule:
    name: str
    check: Check


def classify(mail: ParsedMail, settings: Settings, *, rules: Sequence[Rule]) -> Verdict:
    """The verdict of the first rule that fires, in the road's order."""
    for entry in rules:
        verdict = entry.check(mail, settings)
        if verdict is not None:
            return verdict
    return Verdict("contribution", "no rule matched")  # pragma: no cover (last rule fires)


def own_domain(settings: Settings) -> str:
    return settings.consultation.domain


def own_loop(mail: ParsedMail, settings: Settings) -> Verdict | None:
    c = settings.consultation
    if any(v.strip().lower() == loop_mark(settings) for v in mail.header_all("x-loop")):
        return Verdict("loop", "X-Loop carries our mark")
    list_id = mail.header("list-id") or ""
    if f"<{c.id}.{c.domain}>" in list_id.lower():
        return Verdict("loop", "List-Id is ours")
    if (
        mail.message_id
        and mail.message_id.lower().endswith("@" + c.domain)
        and (mail.message_id.lower().startswith("mailbot."))
    ):
        return Verdict("loop", "Message-ID was made by us")
    ours = {contribution_address(settings).lower(), command_address(settings).lower()}
    if mail.from_addr in ours and (mail.header("list-id") or mail.header("x-loop")):
        # Our digest or a notice coming back through the caucus list (which may rewrite
        # the Message-ID): From is one of our own addresses.
        return Verdict("loop", f"our own mail ({mail.from_addr}) came back through a list")
    return None


def auto_submitted(mail: ParsedMail, settings: Settings) -> Verdict | None:
    value = (mail.header("auto-submitted") or "").strip().lower()
    if value.startswith("auto-generated") and mail.header("list-id") and mail.from_addr:
        return None  # list software marks the copies it delivers: a person's list copy
    if value and not value.startswith("no"):
        return Verdict("autoreply", f"Auto-Submitted: {value}")
    return None


def no_sender(mail: ParsedMail, settings: Settings) -> Verdict | None:
    if not mail.from_addr or "@" not in mail.from_addr:
        return Verdict("invalid", "no usable From address: kept, not answered")
    return None


def contribution(mail: ParsedMail, settings: Settings) -> Verdict | None:
    return Verdict("contribution", "addressed to the consultation")
