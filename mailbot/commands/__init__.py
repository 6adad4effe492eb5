"""Commands by e-mail: the finder, the table of commands, and the moderation they drive.

The classify rules, the `command` handler and the moderation filing step are listed in
mailbot/road.py.
"""

from mailbot.commands.registry import Command, CommandTable, Context, Result, command

__all__ = ["Command", "CommandTable", "Context", "Result", "command"]
