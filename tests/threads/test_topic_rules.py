"""Topic resolution through the real pipeline, each rule in English, French and Spanish."""

from __future__ import annotations

import pytest

from mailbot.app import App
from tests.threads.thread_mail import by_mid, deliver, mail, threads


@pytest.mark.parametrize(
    ("to", "subject", "topic"),
    [
        ("contrib+open-meeting@consult.example.org", "Some ideas", "open-meeting"),
        ("contrib+reunion@consult.example.org", "Quelques idées", "open-meeting"),
        ("contrib+composicion@consult.example.org", "Algunas ideas", "composition"),
        ("Contrib+Methods@Consult.Example.org", "Ideas", "working-methods"),
    ],
)
def test_subaddress(app: App, to: str, subject: str, topic: str) -> None:
    (outcome,) = deliver(app, mail("s1@example.org", subject, to=to))
    assert outcome.outcome == "contribution" and outcome.topic == topic
    c = by_mid(app)["s1@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == (topic, "subaddress", False)


def test_subaddress_beats_tag(app: App) -> None:
    deliver(
        app,
        mail(
            "s2@example.org", "[composition] Seats", to="contrib+open-meeting@consult.example.org"
        ),
    )
    c = by_mid(app)["s2@example.org"]
    assert (c.topic, c.topic_rule) == ("open-meeting", "subaddress")


def test_unknown_subaddress_falls_through(app: App) -> None:
    deliver(app, mail("s3@example.org", "Hello", to="contrib+nosuch@consult.example.org"))
    c = by_mid(app)["s3@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == ("general", "default", True)


@pytest.mark.parametrize(
    ("subject", "topic"),
    [
        ("[composition] Seats for civil society", "composition"),
        ("[Méthodes] Des comptes rendus publics", "working-methods"),
        ("[methodes] Sans accent", "working-methods"),
        ("[composición] Representación regional", "composition"),
        ("[COMPOSICIÓN] En mayúsculas", "composition"),
        ("Re: [Réunion] La date", "open-meeting"),
        ("[Métodos de trabajo] Por título", "working-methods"),
    ],
)
def test_subject_tag_and_alias(app: App, subject: str, topic: str) -> None:
    deliver(app, mail("t1@example.org", subject))
    c = by_mid(app)["t1@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == (topic, "tag", False)


@pytest.mark.parametrize(
    ("parent_subject", "reply_subject", "topic"),
    [
        ("[composition] Seats", "Re: Seats", "composition"),
        ("[Méthodes] Comptes rendus", "RE : Comptes rendus", "working-methods"),
        ("[composición] Regiones", "RV: Regiones", "composition"),
    ],
)
def test_reply_inherits_the_parent_topic(
    app: App, parent_subject: str, reply_subject: str, topic: str
) -> None:
    deliver(
        app,
        mail("p1@example.org", parent_subject),
        mail(
            "r1@example.org",
            reply_subject,
            irt="p1@example.org",
            refs=("p1@example.org",),
            hours=1,
            sender="bo@example.org",
        ),
    )
    c = by_mid(app)["r1@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == (topic, "reply", False)


def test_reply_inherits_from_the_nearest_known_ancestor(app: App) -> None:
    deliver(
        app,
        mail("p2@example.org", "[Méthodes] Ordre du jour"),
        # Its parent (missing@) never arrived: the grandparent in References decides.
        mail(
            "r2@example.org",
            "Re: Ordre du jour",
            irt="missing@example.org",
            refs=("p2@example.org", "missing@example.org"),
            hours=2,
        ),
    )
    c = by_mid(app)["r2@example.org"]
    assert (c.topic, c.topic_rule) == ("working-methods", "reply")


def test_tag_beats_reply_inheritance(app: App) -> None:
    deliver(
        app,
        mail("p3@example.org", "[composition] Seats"),
        mail("r3@example.org", "Re: [Méthodes] Seats", irt="p3@example.org", hours=1),
    )
    rows = by_mid(app)
    assert (rows["r3@example.org"].topic, rows["r3@example.org"].topic_rule) == (
        "working-methods",
        "tag",
    )
    # Threads follow headers, not topics: one thread, whose topic is its root's.
    assert rows["r3@example.org"].thread_id == rows["p3@example.org"].thread_id
    (thread,) = threads(app).values()
    assert thread.topic == "composition" and thread.messages == 2


@pytest.mark.parametrize(
    ("subject", "body", "topic"),
    [
        ("How many members?", "Who decides?\n", "composition"),
        ("Le mandat du groupe", "Une question.\n", "establishment"),
        ("Sobre el grupo", "Pedimos más transparencia en las reuniones.\n", "working-methods"),
        ("Pregunta", "¿Cuántos miembros tendrá?\n", "composition"),
        ("Transparence", "Tout doit être public.\n", "working-methods"),
    ],
)
def test_keywords(app: App, subject: str, body: str, topic: str) -> None:
    deliver(app, mail("k1@example.org", subject, body=body))
    c = by_mid(app)["k1@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == (topic, "keyword", False)


@pytest.mark.parametrize(
    ("subject", "lang"),
    [("Hello everyone", "en"), ("Bonjour à tous", "fr"), ("Hola a todos", "es")],
)
def test_default_topic_needs_refile(app: App, subject: str, lang: str) -> None:
    (outcome,) = deliver(app, mail("d1@example.org", subject, lang=lang))
    c = by_mid(app)["d1@example.org"]
    assert (c.topic, c.topic_rule, c.needs_refile) == ("general", "default", True)
    assert outcome.reason.startswith("filed by default rule")


def test_late_parent_relinks_the_thread_but_not_the_reply_topic(app: App) -> None:
    # The reply comes first: nothing known to inherit from, so it falls to the default.
    deliver(
        app,
        mail(
            "r4@example.org",
            "Re: Rotation",
            irt="p4@example.org",
            refs=("p4@example.org",),
            hours=1,
            sender="bo@example.org",
        ),
    )
    reply = by_mid(app)["r4@example.org"]
    assert (reply.topic, reply.topic_rule, reply.needs_refile) == ("general", "default", True)
    (ghost_thread,) = threads(app).values()
    assert ghost_thread.root_contribution_id == reply.id  # a lone reply to a ghost is the root

    deliver(app, mail("p4@example.org", "[composition] Rotation"))
    rows = by_mid(app)
    parent, reply = rows["p4@example.org"], rows["r4@example.org"]
    # The reply keeps its topic and rule (moderators re-file it), but hangs under the parent,
    # in the same (stable) thread, whose topic is now the root's.
    assert (reply.topic, reply.topic_rule, reply.needs_refile) == ("general", "default", True)
    assert reply.parent_id == parent.id and parent.parent_id is None
    assert reply.thread_id == parent.thread_id == ghost_thread.id
    (thread,) = threads(app).values()
    assert (thread.topic, thread.root_contribution_id, thread.title) == (
        "composition",
        parent.id,
        "Rotation",
    )
