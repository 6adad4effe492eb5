"""Every Python package of the source tree is listed for the wheel (the list is explicit,
because templates/ and config/ are mapped into it): a package left out installs a bot that
fails to start, which only the slow wheel test would otherwise show."""

from __future__ import annotations

import tomllib

from mailbot.config import PROJECT_DIR


def test_every_package_is_in_the_wheel() -> None:
    listed = set(
        tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(init.parent.relative_to(PROJECT_DIR).parts)
        for init in (PROJECT_DIR / "mailbot").rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
