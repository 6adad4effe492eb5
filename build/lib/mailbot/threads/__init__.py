"""Threading: group contributions into conversations (JWZ / RFC 5256), pure functions."""

from mailbot.threads.algo import Mode, thread
from mailbot.threads.imap import format_imap_thread
from mailbot.threads.subject import (
    base_subject,
    base_subject_and_flag,
    casemap,
    subject_sort_key,
)
from mailbot.threads.values import ThreadInput, ThreadNode, ThreadResult

__all__ = [
    "Mode",
    "ThreadInput",
    "ThreadNode",
    "ThreadResult",
    "base_subject",
    "base_subject_and_flag",
    "casemap",
    "format_imap_thread",
    "subject_sort_key",
    "thread",
]
