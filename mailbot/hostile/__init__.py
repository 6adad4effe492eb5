"""Hostile mail: bounces, automatic replies, rate limits, limits on input, quarantine, safe output.

Kept light on purpose (the spine's parser imports `mailbot.hostile.safe`); the rules, handlers,
outbox guard and pre-parse check are listed in mailbot/road.py.
"""
