"""References a message may not use: re-parenting someone else's contribution.

Threading believes a message's References chain: `References: <X> <B>` says B is a reply to X,
and the first claim on B's parent wins. Message-IDs are public (the mbox export), so anyone
could hang another person's contribution under any message. A chain is believed only where
it repeats a link that contribution already made itself (B named X); from the first pair that
would create a new parent for another author's contribution, the chain is cut there, and the
message is still threaded under its own direct parent.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session

from mailbot.models import Contribution

C = Contribution.__table__.c  # type: ignore[attr-defined]
# The named contributions, only what the check reads (Core: a reply in a long thread names
# many, and ORM entities would cost more than the check).
NAMED = select(C.id, C.message_id, C.participant_id, C.references, C.in_reply_to).where(
    C.message_id.in_(bindparam("ids", expanding=True))
)


def trim_references(*, session: Session, contribution: Contribution) -> list[str]:
    """Cut `contribution.references` so no pair in it re-parents another author's message;
    returns the ids dropped (for the filing notes)."""
    refs = list(contribution.references or ())
    if len(refs) < 2:
        return []
    known = {
        row.message_id: row
        for row in session.connection().execute(NAMED, {"ids": refs[1:]})
        if row.id != contribution.id
    }
    start = 0
    for i in range(1, len(refs)):
        child = known.get(refs[i])
        if child is None or child.participant_id == contribution.participant_id:
            continue
        own = {*(child.references or ()), *((child.in_reply_to,) if child.in_reply_to else ())}
        if refs[i - 1] not in own:
            start = i  # refs[i-1] -> refs[i] is a new claim on someone else's contribution
    if not start:
        return []
    contribution.references = refs[start:]
    session.add(contribution)
    return refs[:start]
