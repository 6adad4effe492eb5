"""Templates are read once and checked for edits at most every `FRESH_SECONDS`: an edited
file, or a language's file added later, is still what the next answer after that uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailbot import compose
from mailbot.compose import render
from tests.support import make_settings


def write(path: Path, text: str, later: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = path.stat().st_mtime + later  # a new mtime, however coarse the file system's
    os.utime(path, (stamp, stamp))


def test_an_edited_or_added_template_is_used_once_checked(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    write(site / "en" / "note.txt", "Subject: First\n\nOne.\n", 0)
    settings = make_settings(database_url, tmp_path / "var", templates_dir=str(site))
    assert render(settings=settings, name="note.txt", lang="fr", context={}) == ("First", "One.\n")
    monkeypatch.setattr(compose, "FRESH_SECONDS", -1.0)  # every use checks the disk
    write(site / "en" / "note.txt", "Subject: Second\n\nTwo.\n", 10)
    assert render(settings=settings, name="note.txt", lang="fr", context={}) == ("Second", "Two.\n")
    write(site / "fr" / "note.txt", "Subject: Troisième\n\nTrois.\n", 20)
    got = render(settings=settings, name="note.txt", lang="fr", context={})
    assert got == ("Troisième", "Trois.\n")
