"""The archive in a real browser (headless Debian chromium): text shows, no script runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.config import PROJECT_DIR
from mailbot.publish.site import build_archive
from tests.publish.publish_mail import (
    HOSTILE_HTML,
    SCRIPT_MARK,
    consultation_mail,
    ingest,
    thread_and_show_html,
)

ARTIFACTS = PROJECT_DIR / "test-artifacts" / "publish"


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI (scripts/test installs it)")
        pytest.skip("chromium is not installed")
    return found


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "chromium-profile"
    command = [
        chromium_binary(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode("utf-8")


def dump_dom(tmp_path: Path, page: Path) -> str:
    # The budget lets a script or a failed image's onerror run before the DOM is dumped.
    return chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri())


class VisibleText(HTMLParser):
    """Text a reader sees: everything outside head, script and style."""

    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.skip += tag in ("head", "script", "style", "title")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("head", "script", "style", "title")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible(dom: str) -> str:
    parser = VisibleText()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())


def title(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.S)
    return match.group(1) if match else ""


def test_archive_in_headless_chromium(app: App, tmp_path: Path) -> None:
    ingest(app, consultation_mail())
    thread_and_show_html(app)
    out = tmp_path / "site"
    build_archive(app=app, out=out)

    # Control: the same HTML, unsanitised, does run in this browser (the check can fail).
    control = tmp_path / "control.html"
    control.write_text(HOSTILE_HTML, encoding="utf-8")
    assert SCRIPT_MARK in dump_dom(tmp_path, control)

    hostile = out / "c" / "WGIG-0004.html"
    source = hostile.read_text(encoding="utf-8")
    own = (
        '<script src="../pagefind/pagefind-ui.js" defer></script>',
        '<script src="../search.js" defer></script>',
    )
    assert all(tag in source for tag in own)  # the archive's own search (issue 15), nothing else
    for bad in ("<script", "onerror", "onclick", "javascript:", "<img"):
        assert bad not in source.replace(own[0], "").replace(own[1], "").lower(), bad
    dom = dump_dom(tmp_path, hostile)
    assert SCRIPT_MARK not in dom and SCRIPT_MARK not in title(dom)
    text = visible(dom)
    assert "Les réunions doivent être publiques et retransmises." in text
    assert "Merci de votre attention." in text and "Bob Hostile" in text
    assert "WGIG-0004" in text and "Working methods" in text

    # Without the page's CSP the sanitised page still runs nothing: the sanitiser did it.
    bare = out / "c" / "WGIG-0004-nocsp.html"
    bare.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", source), encoding="utf-8"
    )
    assert "Content-Security-Policy" not in bare.read_text()
    assert SCRIPT_MARK not in dump_dom(tmp_path, bare)
    bare.unlink()

    thread_dom = dump_dom(tmp_path, out / "t" / "WGIG-0001.html")
    text = visible(thread_dom)
    assert "We believe civil society should hold a third of the seats." in text
    assert "Nous pensons que le tiers des sièges doit aller aux régions." in text
    assert "Renée Lefèvre" in text and "Agreed with both" in text
    assert re.search(r'<article class="contribution d1" id="WGIG-0002" lang="fr"', thread_dom)
    spanish = visible(dump_dom(tmp_path, out / "c" / "WGIG-0003.html"))
    assert "Las reuniones del grupo deben ser públicas" in spanish and "anonymous" in spanish
    home = visible(dump_dom(tmp_path, out / "index.html"))
    assert "2027-01-31 18:00 CET" in home and "Composition: who sits on it" in home

    # Screenshots on a phone-sized and a desktop window, kept as test artefacts.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "thread-phone.png": ("412,915", out / "t" / "WGIG-0001.html"),
        "hostile-phone.png": ("412,915", hostile),
        "home-desktop.png": ("1200,900", out / "index.html"),
    }
    for name, (size, page) in shots.items():
        target = ARTIFACTS / name
        target.unlink(missing_ok=True)
        chromium(
            tmp_path,
            "--hide-scrollbars",
            f"--window-size={size}",
            f"--screenshot={target}",
            page.as_uri(),
        )
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 5000
