"""Moderation: the hold policy, tokens, moderator authentication, the decision log, deadlines."""
