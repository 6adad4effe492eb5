"""Our own addresses, in one place: where contributions, commands and bounces come in, the
topic sub-addresses (contrib+composition@...), and the test "is this address ours?".

The listener accepts at RCPT only what `is_ours` says; the loop rule, the bounce reader,
the Postfix maps and every answer's Reply-To and envelope sender ask here too.
"""

from __future__ import annotations

import re

from mailbot.config import Settings

# A sub-address detail Postfix can route as it is (topic names that are not are still found
# by their tag or keyword, only not by address).
LOCAL_PART = re.compile(r"[a-z0-9][a-z0-9._-]*")


def contribution_address(settings: Settings) -> str:
    return settings.consultation.address


def command_address(settings: Settings) -> str:
    """Where commands go: the -request address when there is one (Mailman's habit)."""
    c = settings.consultation
    return c.command_address or c.address


def bounce_address(settings: Settings) -> str:
    """Our envelope sender: bounces come back here, never to the consultation address."""
    local, _, domain = settings.consultation.address.partition("@")
    return f"{local}-bounces@{domain}"


def topic_address(settings: Settings, detail: str) -> str:
    local, _, domain = settings.consultation.address.partition("@")
    return f"{local}+{detail}@{domain}"


def exact_addresses(settings: Settings) -> frozenset[str]:
    """The addresses we own as they are (lower case), without sub-addresses."""
    c = settings.consultation
    found = {c.address.lower(), bounce_address(settings).lower()}
    if c.command_address:
        found.add(c.command_address.lower())
    return frozenset(found)


def subaddress_detail(address: str, base: str) -> str | None:
    """The +detail of `address` at the address `base` ("composition" for
    contrib+composition@... at contrib@...), or None when it is not one."""
    local, _, domain = address.strip().lower().partition("@")
    stem, plus, detail = local.partition("+")
    b_local, _, b_domain = base.lower().partition("@")
    if plus and stem == b_local and domain == b_domain:
        return detail
    return None


def is_ours(address: str, settings: Settings) -> bool:
    """Mail to this address is for the bot (the listener's RCPT check)."""
    address = address.strip().lower()
    if address in exact_addresses(settings):
        return True
    return subaddress_detail(address, settings.consultation.address) is not None


def loop_mark(settings: Settings) -> str:
    """The X-Loop value on everything we send."""
    return settings.consultation.address.lower()


def owned_addresses(settings: Settings, *, details: set[str]) -> list[str]:
    """Every address to route to the bot: the exact ones, then the contribution address with
    each routable detail (the topic names, folded as the topic rule folds them)."""
    c = settings.consultation
    found = [c.address.lower()]
    if c.command_address:
        found.append(c.command_address.lower())
    found.append(bounce_address(settings).lower())
    routable = sorted(d for d in details if LOCAL_PART.fullmatch(d))
    found += [topic_address(settings, d).lower() for d in routable]
    return list(dict.fromkeys(found))
