"""Debian's Chromium driven by selenium through chromium-driver (nothing downloaded), axe-core
from the selenium-axe-python wheel, a local HTTP server for the archive (Pagefind fetches its
index: file:// cannot), and the folder where screenshots are kept as artefacts."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from mailbot.config import PROJECT_DIR

ARTIFACTS = Path(os.environ.get("MAILBOT_ARTIFACTS", PROJECT_DIR / "test-artifacts")) / "reading"
AXE_JS = files("selenium_axe_python") / "axe-core" / "axe.min.js"  # axe-core 4.9
SERIOUS = ("serious", "critical")


def _binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium / chromium-driver missing in CI (scripts/test installs them)")
        pytest.skip("chromium and chromium-driver are not installed")
    return browser, driver


@contextmanager
def chromium(
    width: int = 1024, height: int = 900, *, javascript: bool = True
) -> Iterator[webdriver.Chrome]:
    browser, driver_path = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def axe_violations(driver: webdriver.Chrome, context: str = "document") -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA rules on the page; the serious and critical violations."""
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"axe.run({context}, {{runOnly: {{type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));"
    )
    return [v for v in result if v.get("impact") in SERIOUS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        for v in violations
    )


def full_screenshot(driver: webdriver.Chrome, path: Path, width: int) -> Path:
    """The whole page at `width` CSS pixels, as a PNG kept under test-artifacts/reading."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 120, 8000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The folder over HTTP on a free local port; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
