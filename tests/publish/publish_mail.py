"""Mail for the publish tests: a small en/fr/es consultation walked down the real road."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from sqlmodel import Session, select

from mailbot.app import App
from mailbot.models import Contribution, RawMessage
from mailbot.parse import parse
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch

TO = "contrib@consult.example.org"
# A script that would change the page if it ran: the marker is only built at run time.
SCRIPT_MARK = "XSS" + "-RAN"
HOSTILE_HTML = (
    "<html><head><title>t</title><script>document.title = 'XSS' + '-RAN';"
    "var d = document.createElement('p'); d.textContent = 'XSS' + '-RAN';"
    "document.body.appendChild(d);</script></head><body>"
    "<p>Les <b>réunions</b> doivent être publiques et retransmises.</p>"
    "<img src=\"x\" onerror=\"document.body.insertAdjacentHTML('beforeend', 'XSS' + '-RAN')\">"
    '<p onclick="alert(1)">Merci de votre attention.</p>'
    '<a href="javascript:alert(1)">lien</a></body></html>'
)


def mail(
    n: int,
    *,
    sender: str,
    name: str | None,
    subject: str,
    body: str,
    lang: str | None = None,
    reply_to: str | None = None,
    references: tuple[str, ...] = (),
    html: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    to: str = TO,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<pub-{n}@example.net>"
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(hours=n))
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = " ".join(f"<{r}>" for r in (*references, reply_to))
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attachment:
        filename, ctype, data = attachment
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if lang:
        msg["Content-Language"] = lang
    return msg.as_bytes()


def consultation_mail() -> list[bytes]:
    """Five messages: en/fr/es, a reply thread, an HTML mail with a script, an attachment."""
    return [
        mail(
            1,
            sender="alice@example.org",
            name="Alice Example",
            lang="en",
            subject="[composition] Seats for civil society",
            body="We believe civil society should hold a third of the seats.\n"
            "The members should rotate every two years.\n",
            attachment=("proposal.pdf", "application/pdf", b"%PDF-1.4 tiny proposal\n"),
        ),
        mail(
            2,
            sender="renee@example.fr",
            name="Renée Lefèvre",
            lang="fr",
            subject="Re: [composition] Seats for civil society",
            reply_to="pub-1@example.net",
            body="Nous pensons que le tiers des sièges doit aller aux régions.\n\n"
            "> We believe civil society should hold a third of the seats.\n",
        ),
        mail(
            3,
            sender="carlos@example.es",
            name=None,
            lang="es",
            subject="[methods] Transparencia de las reuniones",
            body="Las reuniones del grupo deben ser públicas y con actas abiertas para todos.\n",
        ),
        mail(
            4,
            sender="bob@example.org",
            name="Bob Hostile",
            lang="fr",
            subject="[methods] Réunions publiques",
            body="Les réunions doivent être publiques et retransmises.\n",
            html=HOSTILE_HTML,
        ),
        mail(
            5,
            sender="dina@example.org",
            name="Dina",
            lang="en",
            subject="Re: Re: [composition] Seats for civil society",
            reply_to="pub-2@example.net",
            references=("pub-1@example.net",),
            body="Agreed with both: rotation and a regional balance.\n",
        ),
    ]


def ingest(app: App, raws: list[bytes]) -> list[str]:
    """Store and process messages as `mailbot ingest` does; return their tracking refs."""
    refs: list[str] = []
    for stored in store_raw_batch(app=app, items=[RawIn(raw=r, source="ingest") for r in raws]):
        outcome = process_one(app=app, raw_id=stored.raw_id)
        assert outcome.ref, outcome
        refs.append(outcome.ref)
    return refs


def thread_and_show_html(app: App) -> None:
    """Do what the threading and hostile-mail areas will do on filing, so tests don't wait
    for them: thread_id/parent_id from the reply headers, html from the HTML part as sent."""
    with Session(app.engine) as session:
        rows = list(session.exec(select(Contribution).order_by(Contribution.id)))
        by_mid = {c.message_id: c for c in rows}
        for c in rows:
            parent = by_mid.get(c.in_reply_to) if c.in_reply_to else None
            c.parent_id = parent.id if parent else None
            c.thread_id = parent.thread_id if parent else c.id
            # The HTML part exactly as sent, even if a filing step cleaned it already: the
            # archive must clean it itself.
            raw = session.get(RawMessage, c.raw_id)
            assert raw is not None
            c.html = parse(raw.raw).html
            session.add(c)
        session.commit()


def set_status(app: App, ref: str, status: str) -> None:
    with Session(app.engine) as session:
        row = session.exec(select(Contribution).where(Contribution.ref == ref)).one()
        row.status = status
        session.add(row)
        session.commit()
