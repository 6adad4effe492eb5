"""What every child process of `mailbot run` does first (the pipeline's, the sender's, the
preparer's): die with its parent, leave SIGINT to it, give the listener the CPU first."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal

from mailbot.logs import setup_logging

PR_SET_PDEATHSIG = 1
NICE = 10  # a child of a child (the preparer) inherits it: set, not added


def _die_with_parent(parent: int) -> None:
    # Not Linux: no prctl, and the parent's stop event ends us.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above: nobody to serve
        os._exit(0)


def become_child(parent: int, level: int, *, nice: int = NICE) -> None:
    """Call first in a spawned child; `parent` is the pid that started it."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    os.nice(max(0, nice - os.nice(0)))  # the listener (and its 250s) gets the CPU first
    setup_logging(level=level, verbose=level <= logging.DEBUG)
