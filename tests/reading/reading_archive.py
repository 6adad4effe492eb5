"""A large EN/FR/ES archive for the search test, inserted in bulk (not through the pipeline:
the pipeline has its own tests; here only what the archive reads matters). One contribution,
and only one, says NEEDLE."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from mailbot.app import App
from mailbot.models import Contribution, Participant, RawMessage

NEEDLE = "strapontins"  # French: folding seats; in one French contribution only
VOCABULARY = {
    "en": "the working group should publish its minutes and hold open meetings with civil "
    "society and every stakeholder before each session of the forum",
    "fr": "les réunions doivent être publiques et le groupe doit rendre compte de ses travaux "
    "devant la société civile et tous les acteurs avant chaque session",
    "es": "las reuniones deben ser públicas y el grupo debe rendir cuentas de su trabajo ante "
    "la sociedad civil y todas las partes antes de cada sesión",
}


def populate(app: App, count: int, *, needle_at: int) -> str:
    """`count` published contributions in threads of up to five, languages in turn; returns
    the ref of the one that says NEEDLE (number `needle_at`, a French one)."""
    c = app.consultation
    rng = random.Random(15)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    topics = [t.slug for t in c.topics]
    people = max(1, count // 20)
    words = {lang: text.split() for lang, text in VOCABULARY.items()}
    participants = [
        {"id": i + 1, "email": f"p{i}@example.org", "display_name": f"Person {i}",
         "first_seen": start, "language": None, "digest_subscribed": False, "bounce_score": 0.0}
        for i in range(people)
    ]  # fmt: skip
    raws, rows = [], []
    for i in range(1, count + 1):
        lang = "fr" if i == needle_at else ("en", "fr", "es")[i % 3]
        text = " ".join(rng.choice(words[lang]) for _ in range(rng.randint(30, 80)))
        if i == needle_at:
            text = f"Des {NEEDLE} pour les observateurs, pas des sièges. {text}"
        root = i - (i - 1) % 5  # threads of five
        subject = f"Re: idea {root}" if root != i else f"[{topics[root % len(topics)]}] idea {i}"
        raw = f"From: p{i % people}@example.org\nSubject: {subject}\n\n{text}\n".encode()
        when = start + timedelta(seconds=60 * i)
        raws.append(
            {"id": i, "received_at": when, "source": "test", "envelope_to": [],
             "message_id": f"r{i}@example.org", "content_sha256": hashlib.sha256(raw).hexdigest(),
             "size": len(raw), "raw": raw, "state": "done", "outcome": "contribution"}
        )  # fmt: skip
        rows.append(
            {"id": i, "consultation_id": c.id, "ref": f"{c.ref_prefix}-{i:05d}", "raw_id": i,
             "participant_id": i % people + 1, "topic": topics[root % len(topics)],
             "topic_rule": "tag", "needs_refile": False, "message_id": f"r{i}@example.org",
             "in_reply_to": f"r{i - 1}@example.org" if root != i else None,
             "references": [f"r{i - 1}@example.org"] if root != i else [], "subject": subject,
             "author_name": f"Person {i % people}", "language": lang, "text": text,
             "text_sha256": hashlib.sha256(text.encode()).hexdigest(), "html": None,
             "attachments": [], "sent_at": when, "received_at": when, "late": False,
             "status": "published", "thread_id": root, "parent_id": i - 1 if root != i else None}
        )  # fmt: skip
    with app.engine.begin() as conn:
        conn.execute(insert(Participant), participants)
        conn.execute(insert(RawMessage), raws)
        conn.execute(insert(Contribution), rows)
    return f"{c.ref_prefix}-{needle_at:05d}"


def populate_thread(ref: str) -> str:
    """The thread key (its first message's ref) of a contribution made by `populate`."""
    prefix, number = ref.rsplit("-", 1)
    n = int(number)
    return f"{prefix}-{n - (n - 1) % 5:05d}"
