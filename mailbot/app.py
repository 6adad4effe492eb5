"""The running bot's context: settings, database engine, clock and road, built once and passed
down (by `mailbot.boot.make_app`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from mailbot.clock import Clock, SystemClock
from mailbot.config import Consultation, Settings

if TYPE_CHECKING:  # the road imports every area, and every area imports App
    from mailbot.road import Road


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    road: Road
    clock: Clock = field(default_factory=SystemClock)

    @property
    def consultation(self) -> Consultation:
        return self.settings.consultation
