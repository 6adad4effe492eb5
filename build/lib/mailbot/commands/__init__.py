"""Commands by e-mail: the finder, the registry of commands, and the moderation they drive.

Importing this package registers the classify rules (band 50), the `command` handler, every
command, and the moderation filing step (order 30).
"""

from mailbot.commands import handler, moderator, participant  # noqa: F401  (registration)
from mailbot.commands.registry import COMMANDS, Command, Context, Result, command, lookup
from mailbot.moderation import policy  # noqa: F401  (the filing step)

__all__ = ["COMMANDS", "Command", "Context", "Result", "command", "lookup"]
