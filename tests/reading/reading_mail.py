"""Helpers for the reading tests: a week of EN/FR/ES contributions as a member reads them,
and commands mailed to the bot through the same road (store raw, pipeline)."""

from __future__ import annotations

import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailbot.app import App
from mailbot.clock import FrozenClock
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch
from tests.calendar.calendar_mail import calendar_app, contribute, outbox, parsed, text_of

BASE_URL = "https://consult.example.org/archive/"
ENGLISH = (
    "We need three things from the working group:\n"
    "- open meetings, streamed and recorded\n"
    "- minutes published within a week\n"
    "- a third of the seats for civil society in the room.\n\n"
    "Best regards,\nAna Pérez\n"
)
FRENCH_REPLY = (
    "Les séances doivent être publiques. Le compte rendu doit paraître en trois langues, "
    "et les documents préparatoires aussi. Au moins une semaine avant chaque réunion, "
    "pour que les organisations éloignées puissent se préparer et envoyer leurs avis "
    "par écrit si elles ne peuvent pas venir, et que tout le monde lise tout. Claire\n\n"
    "Le mar. 10 nov. 2026 à 10:00, Ana Pérez <ana@example.es> a écrit :\n"
    "> We need three things from the working group:\n> - open meetings\n"
)


def member_week(tmp_path: Path, database_url: str, **calendar: Any) -> tuple[App, FrozenClock]:
    """The bot on the week of 9 November 2026 with three contributions, the archive's base
    URL set; `calendar` overrides [calendar]."""
    clock = FrozenClock(datetime(2026, 11, 9, 8, 0, tzinfo=UTC))
    app = calendar_app(
        database_url,
        tmp_path / "var",
        clock,
        calendar=calendar,
        publish={"base_url": BASE_URL},
        consultation={"titles": TITLES},
    )
    from mailbot.calendar.registry import run_due_jobs

    run_due_jobs(app=app)
    contribute(
        app,
        clock,
        datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
        sender="ana@example.es",
        name="Ana Pérez",
        subject="[composition] Seats for civil society",
        text=ENGLISH,
        lang="en",
        n=1,
    )
    contribute(
        app,
        clock,
        datetime(2026, 11, 11, 9, 0, tzinfo=UTC),
        sender="claire@example.fr",
        name="Claire",
        subject="Re: [composition] Seats for civil society",
        text=FRENCH_REPLY,
        lang="fr",
        n=2,
    )
    contribute(
        app,
        clock,
        datetime(2026, 11, 12, 9, 0, tzinfo=UTC),
        sender="kofi@example.org",
        name="",
        subject="[metodos] Transparencia y participación",
        text="Publicar todos los documentos: ¿por qué no?",
        lang="es",
        n=3,
    )
    return app, clock


TITLES = {
    "fr": "Groupe de travail sur la gouvernance de l'internet : appel à contributions",
    "es": "Grupo de trabajo sobre la gobernanza de internet: convocatoria",
}


def command(app: App, clock: FrozenClock, at: datetime, *, sender: str, body: str, n: int) -> None:
    """A command mail to the command address, through the whole road."""
    clock.set(at)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = app.consultation.command_address or app.consultation.address
    msg["Subject"] = "commands"
    msg["Message-ID"] = f"<cmd-{n}@example.net>"
    msg.set_content(body)
    store_raw_batch(app=app, items=[RawIn(raw=msg.as_bytes(policy=email.policy.SMTP), source="t")])
    process_pending(app=app)


def confirm_all(app: App, clock: FrozenClock, at: datetime, *, sender: str, n: int) -> int:
    """Answer every CONFIRM the bot sent `sender` with its token; returns how many."""
    tokens = []
    for row in outbox(app, "confirm"):
        if sender in row.recipients:
            found = re.search(r"CONFIRM (\S+)", text_of(parsed(row)))
            assert found, "a confirmation without its token"
            tokens.append(found.group(1))
    body = "\n".join(f"CONFIRM {t}" for t in tokens)
    command(app, clock, at, sender=sender, body=body, n=n)
    return len(tokens)
