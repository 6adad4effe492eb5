"""The consultation's calendar: deadlines and late policy, reminders, the weekly digest, and the
APScheduler service that wakes the jobs (all listed in mailbot/road.py)."""
