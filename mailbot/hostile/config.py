"""The `[limits]` section: replies per recipient, the global brake, and limits on incoming mail."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Every key optional; `MAILBOT_LIMITS__<KEY>` overrides one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Answers to one address (acknowledgements, command results, notices) per rolling window;
    # one "further replies suppressed" notice follows, then silence until the window clears.
    per_recipient: int = Field(default=5, ge=0)  # 0 = no per-recipient limit
    window_minutes: int = Field(default=60, gt=0)
    # Global brake: above this many answers in `brake_minutes`, new answers wait in the
    # outbox (spread out by `brake_delay_seconds`) instead of going out at once. 0 = off.
    global_per_window: int = Field(default=1000, ge=0)
    brake_minutes: int = Field(default=10, gt=0)
    brake_delay_seconds: int = Field(default=600, gt=0)
    # Alerts to the moderators about refused commands, in all, per hour (one per sender
    # and hour at most, too).
    alerts_per_hour: int = Field(default=10, ge=0)
    # A participant whose bounce score reaches this gets no more mail (hard bounce 1, soft 0.5).
    bounce_disable_score: float = Field(default=5.0, gt=0)
    # Incoming mail beyond these goes to quarantine with the reason (checked before parsing).
    max_header_bytes: int = Field(default=256 * 1024, gt=0)
    max_header_count: int = Field(default=1000, gt=0)
    max_mime_depth: int = Field(default=20, gt=0)
    max_parts: int = Field(default=500, gt=0)
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)  # decoded, per part
