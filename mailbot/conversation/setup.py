"""Registers the conversation area: rules (complaint 15, reply to our mail 45), handlers,
the via-list filing step, the complaint outbox guard and the GET/INDEX commands."""

from mailbot.conversation import (  # noqa: F401  (registration)
    complaints,
    held,
    library,
    lists,
    repeats,
    replies,
)
