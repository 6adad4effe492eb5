"""Rebuilds render only threads whose inputs changed; templates and --full render again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailbot.app import App
from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.config import PROJECT_DIR
from mailbot.publish.render import Renderer
from mailbot.publish.site import build_archive
from tests.publish.publish_mail import consultation_mail, ingest, mail
from tests.support import make_settings


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates rendered (a spy: the real renderer still runs)."""
    names: list[str] = []
    real = Renderer.render

    def spy(self: Renderer, name: str, **context: object) -> str:
        names.append(name)
        return real(self, name, **context)

    monkeypatch.setattr(Renderer, "render", spy)
    return names


def test_unchanged_threads_are_not_rendered_again(
    app: App, tmp_path: Path, rendered: list[str]
) -> None:
    ingest(app, consultation_mail())
    out = tmp_path / "site"
    first = build_archive(app=app, out=out)
    assert rendered.count("contribution.html") == first.contributions == 5
    rendered.clear()

    again = build_archive(app=app, out=out)
    assert again.written == 0
    assert "contribution.html" not in rendered and "thread.html" not in rendered

    ingest(
        app,
        [
            mail(
                7,
                sender="yan@example.org",
                name="Yan",
                subject="[composition] New",
                body="Seats for youth organisations.",
            )
        ],
    )
    rendered.clear()
    third = build_archive(app=app, out=out)
    assert rendered.count("contribution.html") == 1  # only the new thread's page
    assert "c/WGIG-0006.html" in third.written_paths

    rendered.clear()
    build_archive(app=app, out=out, full=True)
    assert rendered.count("contribution.html") == 6


def test_a_template_change_renders_every_page(
    database_url: str, tmp_path: Path, rendered: list[str]
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(PROJECT_DIR / "templates", templates)
    settings = make_settings(database_url, tmp_path / "var", templates_dir=str(templates))
    app = make_app(settings, clock=FrozenClock())
    ingest(app, consultation_mail())
    out = tmp_path / "site"
    build_archive(app=app, out=out)
    page = templates / "archive" / "contribution.html"
    page.write_text(page.read_text().replace("{% endblock %}", "<p>v2</p>{% endblock %}", 1))
    rendered.clear()
    result = build_archive(app=app, out=out)
    assert rendered.count("contribution.html") == 5
    assert "<p>v2</p>" in (out / "c" / "WGIG-0001.html").read_text()
    assert result.written >= 5
