"""Logging set-up: one line per event, as text for people or JSON for log shippers.

aiosmtpd logs every SMTP command at INFO ("mail.log"); those protocol lines only show with -v,
so a normal log has one line per message received and one per mail sent.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

# The format travels to the pipeline's child process through the environment.
FORMAT_VARIABLE = "MAILBOT_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
QUIET_UNLESS_VERBOSE = ("mail.log", "mail.debug", "alembic")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (a test runner swaps it), not the one at start."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (with its offset), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(
    *, verbose: bool = False, fmt: str | None = None, level: int | None = None
) -> None:
    """Configure the root logger once per process (a second call keeps the first handlers)."""
    fmt = fmt or os.environ.get(FORMAT_VARIABLE, "text")
    os.environ[FORMAT_VARIABLE] = fmt
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    if level is None:
        level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_UNLESS_VERBOSE:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
