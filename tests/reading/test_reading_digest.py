"""What a member reads in the digest: the text part (72 columns, numbered, contents), the HTML
part in Chromium at 600 and 375 px (screenshots kept), axe-core with no serious or critical
violation in light and dark mode, excerpts from the author's own words, archive links, tags
out, plurals, moderation figures only when configured; LANGUAGE fr gives the French digest."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from mailbot.calendar.excerpt import clean_title, cut, excerpt
from mailbot.calendar.registry import run_due_jobs
from mailbot.plurals import counted
from tests.calendar.calendar_mail import outbox, parsed, text_of
from tests.reading.browser import (
    ARTIFACTS,
    axe_violations,
    chromium,
    describe,
    full_screenshot,
)
from tests.reading.reading_mail import BASE_URL, TITLES, command, confirm_all, member_week

MONDAY = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)


def html_of(msg: object) -> str:
    part = msg.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    return str(part.get_content())


def test_plurals_follow_each_language() -> None:
    words = {"one": "réponse", "other": "réponses"}
    assert counted("fr", 0, **words) == "0 réponse"  # French: 0 and 1 are singular
    assert counted("en", 0, one="reply", other="replies") == "0 replies"
    assert counted("es", 1, one="respuesta", other="respuestas") == "1 respuesta"
    assert counted("es", 2, one="respuesta", other="respuestas") == "2 respuestas"


def test_titles_lose_their_tags_and_excerpts_end_cleanly() -> None:
    assert clean_title("[métodos] Seats") == "Seats"
    assert clean_title("Re: [composition] [caucus] Seats") == "Re: Seats"
    assert clean_title("[composition]") == "[composition]"  # nothing else: kept
    assert cut("One. Two three four five six seven.", 20) == "One. Two three four…"
    assert cut("First sentence here. Second one is longer than the rest.", 40) == (
        "First sentence here. …"
    )
    reply = "Agreed, in the room. Ana\n\nOn Tue, 3 Nov 2026, Bo <bo@x.org> wrote:\n> Seats?\n"
    assert excerpt(reply, lines=3, author="Ana") == "Agreed, in the room."


def test_text_part_reads_as_a_member_would(tmp_path: Path, database_url: str) -> None:
    app, clock = member_week(tmp_path, database_url)
    clock.set(MONDAY)
    run_due_jobs(app=app)
    (to_list,) = outbox(app, "digest")
    text = text_of(parsed(to_list)).replace("\r\n", "\n")
    assert [line for line in text.split("\n") if len(line) > 72] == []
    toc = text.split("Contents\n--------", 1)[1].split("=====", 1)[0]
    assert re.findall(r"(\d+)\. \[(WGIG-\d+)\] (.+)", toc) == [
        ("1", "WGIG-0001", "Seats for civil society"),  # "[composition]" removed
        ("2", "WGIG-0002", "Re: Seats for civil society"),
        ("3", "WGIG-0003", "Transparencia y participación"),
    ]
    # The list items keep a line each; the sign-off "Best regards, Ana Pérez" is not shown.
    assert "   • open meetings, streamed and recorded\n" in text
    assert "Best regards" not in text
    # The French reply: its own words, cut after a sentence with an ellipsis; no quote, no
    # attribution line, no sign-off.
    assert "trois langues, et les documents préparatoires aussi. …\n" in text
    assert "a écrit" not in text and "> We need" not in text and "Claire\n" not in text
    assert f"Read in full: {BASE_URL}c/WGIG-0002.html" in text
    assert "(1 contribution)" in text and "(2 contributions)" in text
    assert "Thread: Seats for civil society (2 messages)" in text
    assert "Moderation" not in text  # not configured: members do not see it


def test_html_part_in_chromium_600_and_375_px_passes_axe(tmp_path: Path, database_url: str) -> None:
    app, clock = member_week(tmp_path, database_url, digest_moderation_stats=True)
    clock.set(MONDAY)
    run_due_jobs(app=app)
    (to_list,) = outbox(app, "digest")
    page = html_of(parsed(to_list))
    assert "Moderation in this period:" in page  # configured: shown
    assert "<style" in page and 'style="' in page  # inlined, @media rules kept
    assert "prefers-color-scheme: dark" in page
    assert f'href="{BASE_URL}c/WGIG-0001.html"' in page
    html_file = tmp_path / "digest.html"
    html_file.write_text(page, encoding="utf-8")
    shots = []
    with chromium() as driver:
        for width in (600, 375):
            driver.set_window_size(width, 900)
            driver.get(html_file.as_uri())
            column = driver.execute_script(
                "return document.querySelector('table.column').getBoundingClientRect().width"
            )
            assert column <= 600
            scroll = driver.execute_script("return document.documentElement.scrollWidth")
            assert scroll <= width, f"horizontal scroll at {width} px: {scroll}"
            shots.append(full_screenshot(driver, ARTIFACTS / f"digest-{width}px.png", width))
            assert not (bad := axe_violations(driver)), describe(bad)
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        driver.get(html_file.as_uri())
        background = driver.execute_script(
            "return getComputedStyle(document.querySelector('table.column')).backgroundColor"
        )
        assert background != "rgb(255, 255, 255)"  # the dark rules apply
        shots.append(full_screenshot(driver, ARTIFACTS / "digest-dark-600px.png", 600))
        assert not (bad := axe_violations(driver)), describe(bad)
    for shot in shots:
        assert shot.stat().st_size > 5000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"digest screenshots: {', '.join(str(s) for s in shots)}")


def test_language_fr_subscriber_gets_the_french_digest(tmp_path: Path, database_url: str) -> None:
    app, clock = member_week(tmp_path, database_url)
    claire = "claire@example.fr"
    command(
        app,
        clock,
        datetime(2026, 11, 13, 9, 0, tzinfo=UTC),
        sender=claire,
        body="SUBSCRIBE\nLANGUAGE fr",
        n=1,
    )
    assert (
        confirm_all(app, clock, datetime(2026, 11, 13, 9, 5, tzinfo=UTC), sender=claire, n=2) == 2
    )
    clock.set(MONDAY)
    run_due_jobs(app=app)
    to_list, to_claire = outbox(app, "digest")
    assert to_list.recipients == [app.consultation.list_address]
    assert to_claire.recipients == [claire]
    listed, mine = parsed(to_list), parsed(to_claire)
    assert "Digest, Vol 1, Issue 1" in str(listed["Subject"])
    assert "Résumé, vol. 1, n° 1" in str(mine["Subject"])
    text = text_of(mine)
    assert TITLES["fr"].split(" :")[0] in text  # the title in French
    assert "Sommaire" in text and "(1 contribution)" in text and "(2 messages)" in text
    assert "Texte intégral : https://consult.example.org/archive/c/WGIG-0003.html" in text
    # Contributions keep their own language, marked in the HTML.
    page = html_of(mine)
    assert '<html lang="fr">' in page and 'lang="es"' in page and "¿por qué no?" in page
    assert "Lire WGIG-0001 en entier" in page
    assert "Digest, volume" in text_of(listed) and TITLES["fr"] not in text_of(listed)


def test_list_gets_one_digest_per_language_when_configured(
    tmp_path: Path, database_url: str
) -> None:
    app, clock = member_week(
        tmp_path, database_url, digest_list_languages="each", digest_intro={"es": "Hola a todos."}
    )
    clock.set(MONDAY)
    run_due_jobs(app=app)
    rows = outbox(app, "digest")
    assert [r.recipients for r in rows] == [[app.consultation.list_address]] * 3
    langs = [str(parsed(r)["Content-Language"] or "") for r in rows]
    subjects = [str(parsed(r)["Subject"]) for r in rows]
    assert "Digest" in subjects[0] and "Résumé" in subjects[1] and "Resumen" in subjects[2], langs
    assert "Hola a todos." in text_of(parsed(rows[2])) and "Hola" not in text_of(parsed(rows[0]))
    assert [r.dedupe_key.rsplit(":", 1)[-1] for r in rows][1:] == ["list-fr", "list-es"]
