"""What the services of a running bot share: the app, the stop event and the wake-ups."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from mailbot.app import App
from mailbot.groupcommit import GroupCommitter

# What `mailbot run --role` may start; no --role: all of them, in one process.
ROLES = ("listener", "pipeline", "sender", "scheduler", "imap")


@dataclass
class Runtime:
    app: App
    stop: asyncio.Event
    wake_pipeline: asyncio.Event
    wake_sender: asyncio.Event
    committer: GroupCommitter
    ports: dict[str, int] = field(default_factory=dict)
    roles: frozenset[str] = frozenset(ROLES)
    leading: set[str] = field(default_factory=set)  # roles this process leads (scale/leader)


@dataclass(frozen=True)
class Service:
    """A coroutine `mailbot run` starts beside the listener when `enabled(app)` says so."""

    name: str
    run: Callable[[Runtime], Coroutine[None, None, None]]
    enabled: Callable[[App], bool]
    role: str = ""  # the `--role` that starts it; a role with a leader runs in one process
