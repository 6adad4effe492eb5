"""`require_consent = true`, end to end over SMTP in English, French and Spanish: the
contribution waits unpublished, the receipt asks, STATS lists it, a one-word answer to the
receipt publishes it as chosen, and the archive shows it so."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from mailbot.boot import make_app
from mailbot.clock import FrozenClock
from mailbot.moderation.tokens import TOKEN_RE
from mailbot.privacy.config import Privacy
from mailbot.publish import store
from mailbot.publish.site import build_archive
from tests.commands.commands_support import CHAIR, COMMANDS
from tests.conversation.conversation_support import Conversation, message, reply_to
from tests.support import BotThread, CaptureRelay, make_settings

CASES = {
    "en": (
        "Working methods of the group",
        "The working group should publish its drafts and meet in several regions, so that "
        "people from every part of the world can take part in the discussion.",
        "How should we publish it?",
        "anonymous",
        "without your name (anonymous)",
    ),
    "fr": (
        "Méthodes de travail du groupe",
        "Le groupe de travail devrait publier ses projets et se réunir dans plusieurs "
        "régions, afin que les personnes de toutes les parties du monde puissent participer "
        "à la discussion sur la gouvernance de l'internet.",
        "Comment devons-nous la publier ?",
        "Anonyme",
        "sans votre nom (anonyme)",
    ),
    "es": (
        "Métodos de trabajo del grupo",
        "El grupo de trabajo debería publicar sus borradores y reunirse en varias regiones, "
        "para que las personas de todas las partes del mundo puedan participar en la "
        "discusión sobre la gobernanza de internet.",
        "¿Cómo debemos publicarla?",
        "NOMBRE",
        "con su nombre",
    ),
}


@pytest.fixture
def talk(
    tmp_path: Path,
    database_url: str,
    relay: CaptureRelay,
    bot_factory: Callable[..., BotThread],
) -> Iterator[Conversation]:
    settings = make_settings(database_url, tmp_path / "var", relay=relay.url)
    settings = settings.model_copy(update={"privacy": Privacy(require_consent=True)})
    consultation = settings.consultation.model_copy(update={"moderators": (CHAIR,)})
    settings = settings.model_copy(update={"consultation": consultation})
    app = make_app(settings, clock=FrozenClock())
    yield Conversation(app=app, bot=bot_factory(app), relay=relay)
    app.engine.dispose()


def public_refs(talk: Conversation) -> dict[str, str | None]:
    with Session(talk.app.engine) as s:
        plan = store.plan(session=s, consultation_id=talk.app.consultation.id)
    return {ref: e.author for ref, e in plan.entries.items()}


def stats_of(talk: Conversation, lang: str) -> str:
    """STATS as a moderator runs it: refused without proof, then confirmed by the token
    the refusal carries (only the moderator's mailbox has it)."""
    talk.send(
        message(sender=CHAIR, mid=f"s-{lang}@example.org", to=COMMANDS, subject="STATS", body=""),
        rcpts=(COMMANDS,),
    )
    refusal = talk.mails_to(CHAIR, "Results")[-1].get_content()
    token = TOKEN_RE.search(refusal)
    assert token, refusal
    body = f"CONFIRM {token.group(0)}"
    talk.send(
        message(sender=CHAIR, mid=f"t-{lang}@example.org", to=COMMANDS, subject="x", body=body),
        rcpts=(COMMANDS,),
    )
    return talk.mails_to(CHAIR, "Results")[-1].get_content()


@pytest.mark.parametrize("lang", ["en", "fr", "es"])
def test_a_contribution_waits_for_its_author_then_is_published_as_chosen(
    talk: Conversation, lang: str, tmp_path: Path
) -> None:
    subject, body, asks, answer, said = CASES[lang]
    author = "Inés Lefèvre <ines@example.org>"
    talk.send(message(sender=author, mid=f"c-{lang}@example.org", subject=subject, body=body))
    filed = talk.contribution("WGIG-0001")
    assert filed.language == lang and filed.publication is None
    (receipt,) = talk.mails_to("ines@example.org")
    text = receipt.get_content()
    assert asks in text, text  # the receipt asks, in the author's language
    assert public_refs(talk) == {}  # waiting: nowhere published

    # Moderators see it counted and listed as waiting.
    assert stats_of(talk, lang).count("awaiting consent: WGIG-0001") == 1

    # A one-word answer to the receipt is the choice; nothing new is filed.
    talk.send(
        reply_to(
            receipt,
            sender=author,
            mid=f"r-{lang}@example.org",
            top=answer,
            attribution="On Monday, the consultation wrote:",
        )
    )
    assert talk.outcome(f"r-{lang}@example.org").outcome == "consent"
    chosen = talk.contribution("WGIG-0001")
    expected = "name" if lang == "es" else "anonymous"
    assert chosen.publication == expected
    confirmation = talk.mails_to("ines@example.org")[-1]
    assert said in confirmation.get_content()
    assert public_refs(talk) == {"WGIG-0001": "Inés Lefèvre" if lang == "es" else None}
    pages = build_archive(app=talk.app, out=tmp_path / "site")
    assert pages.contributions == 1
    page = (tmp_path / "site" / "c" / "WGIG-0001.html").read_text(encoding="utf-8")
    assert ("Inés Lefèvre" in page) == (lang == "es")
    assert "ines@example.org" not in page
