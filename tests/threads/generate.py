"""Generated conversations for threading tests: realistic trees, then mangled headers.

Each thread is a tree of replies; some replies lose their References (a mail
client that strips them: only the "Re:"/"AW:" subject is left), some keep only
the last few, some carry only In-Reply-To. Dates grow along every branch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailbot.threads import ThreadInput

TOPICS = ("budget", "transport", "housing")
WORDS = ("budget", "bike lanes", "school meals", "rents", "night buses", "parks", "taxes")
PREFIXES = ("Re: ", "RE: ", "AW: ", "Re: Re: ", "Fwd: ")


@dataclass(frozen=True)
class Generated:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    date: datetime
    topic: str

    def thread_input(self, key: object) -> ThreadInput:
        return ThreadInput(
            key=key,
            message_id=self.message_id,
            in_reply_to=self.in_reply_to,
            references=self.references,
            subject=self.subject,
            date=self.date,
            topic=self.topic,
        )


def conversations(
    count: int,
    *,
    seed: int = 0,
    strip: float = 0.05,
    truncate: float = 0.1,
    irt_only: float = 0.05,
    prefixes: tuple[str, ...] = PREFIXES,
) -> list[Generated]:
    """``count`` messages in threads of 1-40, in date order; every date is unique."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    out: list[Generated] = []
    n = 0
    while n < count:
        subject = f"{rng.choice(WORDS).capitalize()} #{n}"
        topic = rng.choice(TOPICS)
        size = min(count - n, rng.choice((1, 1, 2, 3, 5, 8, 13, 40)))
        # (message id, chain of ids from the root, date)
        nodes: list[tuple[str, tuple[str, ...], datetime]] = []
        for _ in range(size):
            n += 1
            mid = f"m{n}.{seed}@gen.example"
            # Unique dates: a whole number of seconds apart, never equal.
            when = start + timedelta(seconds=n * 7 + rng.randrange(5))
            if not nodes:
                nodes.append((mid, (), when))
                out.append(Generated(mid, None, (), subject, when, topic))
                continue
            parent_id, parent_chain, _ = nodes[rng.randrange(len(nodes))]
            chain = (*parent_chain, parent_id)
            nodes.append((mid, chain, when))
            refs: tuple[str, ...] = chain
            irt: str | None = parent_id
            roll = rng.random()
            if roll < strip:
                refs, irt = (), None
            elif roll < strip + truncate:
                refs = chain[-rng.randint(1, 2) :]
            elif roll < strip + truncate + irt_only:
                refs = ()
            out.append(Generated(mid, irt, refs, rng.choice(prefixes) + subject, when, topic))
    return out
