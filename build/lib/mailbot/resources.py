"""Files that ship with mailbot: the templates and the sample config, read from the installed
package (importlib.resources) or, in a source checkout, from the top-level folders."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The source checkout: templates/ and config/ live beside the package, and pyproject.toml maps
# them into the wheel as mailbot/templates and mailbot/sample_config.
CHECKOUT = Path(__file__).resolve().parent.parent


def _shipped(packaged: str, checkout: str) -> Path:
    root = files("mailbot") / packaged
    # A wheel installed in a directory gives a real path; an editable install has no copy
    # inside the package, so the folder of the checkout is the one to read.
    if isinstance(root, Path) and root.exists():
        return root
    return CHECKOUT / checkout


def templates_root() -> Path:
    """The templates that ship with mailbot (templates/<lang>/, templates/archive/, ...)."""
    return _shipped("templates", "templates")


def sample_config() -> Path:
    """The commented sample config (config/mailbot.toml in the checkout)."""
    return _shipped("sample_config/mailbot.toml", "config/mailbot.toml")
