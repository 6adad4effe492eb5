"""Fixtures of the IMAP tests: the real Dovecot of tests/dovecot.py, and the bot's app.

The project root goes on sys.path so `tests.dovecot` imports under a bare `pytest` too;
once pyproject sets `pythonpath = ["."]` and tests/conftest.py lists
`pytest_plugins = ["tests.dovecot"]`, the two lines below can go.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.dovecot import dovecot  # noqa: E402, F401  (the fixture, re-exported)
