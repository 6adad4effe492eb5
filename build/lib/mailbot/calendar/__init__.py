"""The consultation's calendar: deadlines and late policy, reminders, the weekly digest, and the
APScheduler service that wakes the jobs. Importing this package registers all of them."""

from mailbot.calendar import deadline, digest_mail, reminders, scheduler  # noqa: F401
