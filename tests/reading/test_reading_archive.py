"""What a visitor reads: the archive of 2,000 EN/FR/ES contributions with its Pagefind index,
opened in Chromium over HTTP; a French word typed in the search box finds the one contribution
that has it; filters by topic and language; axe-core finds no serious or critical violation;
keyboard focus is visible; without JavaScript the pages read and the box is absent."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from mailbot.app import App
from mailbot.publish.site import build_archive
from tests.reading.browser import ARTIFACTS, axe_violations, chromium, describe, serve
from tests.reading.reading_archive import NEEDLE, populate, populate_thread

# The figure; READING_ARCHIVE_SIZE makes it smaller or larger.
SIZE = int(os.environ.get("READING_ARCHIVE_SIZE", "2000"))


def test_search_a_multilingual_archive_in_chromium(app: App, tmp_path: Path) -> None:
    ref = populate(app, SIZE, needle_at=SIZE // 2 + (SIZE // 2) % 3 or 2)
    out = tmp_path / "site"
    began = time.monotonic()
    result = build_archive(app=app, out=out)
    built = time.monotonic() - began
    assert result.contributions == SIZE and result.search is not None
    assert result.search.pages == SIZE and (out / "pagefind" / "pagefind-ui.js").is_file()
    entry = json.loads((out / "pagefind" / "pagefind-entry.json").read_text())
    assert set(entry["languages"]) == {"en", "fr", "es"}  # one index per language, stemmed in it
    print(f"archive of {SIZE}: built in {built:.1f} s, index {result.search.size / 1e6:.1f} MB")
    with serve(out) as base, chromium(1024, 900) as driver:
        driver.get(f"{base}index.html")
        box = WebDriverWait(driver, 30).until(
            ready.element_to_be_clickable((By.CSS_SELECTOR, "#search input"))
        )
        box.send_keys(NEEDLE)
        links = WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".pagefind-ui__result-link") or False
        )
        time.sleep(0.5)  # let a debounced second search settle before counting
        links = driver.find_elements(By.CSS_SELECTOR, ".pagefind-ui__result-link")
        assert [link.get_attribute("href") for link in links] == [f"{base}c/{ref}.html"]
        filters = {
            e.text for e in driver.find_elements(By.CSS_SELECTOR, ".pagefind-ui__filter-name")
        }
        assert {"Topic", "Language"} <= {f.split("\n")[0] for f in filters}, filters
        driver.save_screenshot(str(ARTIFACTS / "archive-search.png"))
        assert not (bad := axe_violations(driver)), describe(bad)
        # Keyboard focus is visible: the first Tab lands on the skip link, outlined.
        box.send_keys(Keys.ESCAPE)
        driver.get(f"{base}index.html")
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        style = driver.execute_script(
            "const a = document.activeElement; const s = getComputedStyle(a);"
            "return [a.className, s.outlineStyle, s.outlineWidth, a.getBoundingClientRect().left]"
        )
        assert style[0] == "skip" and style[1] == "solid" and style[2] == "3px" and style[3] >= 0
        # From the French contribution's page, an English word finds English contributions.
        driver.get(f"{base}c/{ref}.html")
        box = WebDriverWait(driver, 30).until(
            ready.element_to_be_clickable((By.CSS_SELECTOR, "#search input"))
        )
        box.send_keys("stakeholder")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".pagefind-ui__result-link") or False
        )
        thread = f"t/{populate_thread(ref)}.html"
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
            )
            for page in ("index.html", "topic/composition.html", thread, f"c/{ref}.html"):
                driver.get(f"{base}{page}")
                WebDriverWait(driver, 30).until(
                    lambda d: d.find_elements(By.CSS_SELECTOR, "#search input")
                )
                assert not (bad := axe_violations(driver)), f"{page} {scheme}: {describe(bad)}"


def test_pages_read_without_javascript(app: App, tmp_path: Path) -> None:
    ref = populate(app, 30, needle_at=14)
    out = tmp_path / "site"
    build_archive(app=app, out=out)
    again = build_archive(app=app, out=out)  # nothing new: the index is not rebuilt
    assert again.written == 0 and again.search is None and (out / "pagefind").is_dir()
    with chromium(800, 900, javascript=False) as driver:
        driver.get((out / "c" / f"{ref}.html").as_uri())
        text = driver.find_element(By.TAG_NAME, "main").text
        assert NEEDLE in text and not driver.find_element(By.ID, "search-area").is_displayed()
        driver.get((out / "index.html").as_uri())
        assert "Search needs JavaScript" in driver.find_element(By.TAG_NAME, "main").text


def test_an_empty_archive_builds_without_an_index(app: App, tmp_path: Path) -> None:
    result = build_archive(app=app, out=tmp_path / "site")
    assert result.search is not None and result.search.pages == 0
    assert (
        not (tmp_path / "site" / "pagefind").exists()
        and (tmp_path / "site" / "index.html").exists()
    )
