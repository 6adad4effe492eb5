"""The publication choice on the road: a filing step sets it on every new contribution, and
a bare answer to a receipt ("anonymous", "Publish: name") sets it later.

Under `[privacy] require_consent = true` a contribution whose author said nothing waits,
unpublished (`publication` None), until they answer; STATS counts and lists it.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.act import Outcome
from mailbot.app import App
from mailbot.classify import Verdict
from mailbot.config import Settings
from mailbot.contributions import Filing, change, queue_reply
from mailbot.conversation.replies import act_reply, answered, our_ids
from mailbot.models import Contribution, Participant, RawMessage
from mailbot.moderation.log import record
from mailbot.parse import ParsedMail
from mailbot.privacy.choice import only_choice, read_choice, strip_choice_tags


def choose_publication(*, app: App, session: Session, filing: Filing) -> None:
    """Filing step: the choice the message states, else the consultation's default (or
    none yet, when the consultation requires the author to choose)."""
    privacy = app.settings.privacy
    contribution = filing.contribution
    choice = read_choice(filing.mail)
    default = None if privacy.require_consent else privacy.default_publication
    change(
        contribution,
        publication=choice.publication or default,
        organisation=choice.organisation,
        subject=strip_choice_tags(contribution.subject) or contribution.subject,
    )
    if contribution.publication is None:
        filing.notes.append("waiting for the author's publication choice")
    elif choice.publication:
        filing.notes.append(f"published as {choice.publication} ({choice.how})")


def consent_reply(mail: ParsedMail, settings: Settings) -> Verdict | None:
    """Classify rule: an answer to one of our messages that only states a choice."""
    ids = our_ids(mail, settings)
    if not ids:
        return None
    choice = read_choice(mail, bare=True, subject=False)
    if choice.publication is None or not only_choice(mail):
        return None
    return Verdict(
        "consent",
        f"publication choice {choice.publication} in a reply to <{ids[0]}>",
        {"ours": ids, "choice": choice.publication, "organisation": choice.organisation},
    )


def set_publication(
    *,
    app: App,
    session: Session,
    contribution: Contribution,
    choice: str,
    organisation: str | None,
    raw_id: int | None,
    message_id: str | None,
) -> None:
    """The author's choice, recorded (the log names no one: the actor is "author")."""
    contribution.publication = choice
    if organisation is not None:
        contribution.organisation = organisation
    session.add(contribution)
    record(
        session=session,
        now=app.clock.now(),
        actor="author",
        action="publish",
        item=contribution.ref,
        outcome="done",
        reason=choice,
        raw_id=raw_id,
        message_id=message_id,
    )


def act_consent(
    *, app: App, session: Session, raw: RawMessage, mail: ParsedMail, verdict: Verdict
) -> Outcome:
    """Handler: set the choice on the contribution the answered receipt was about; anything
    else (not the author, not about a contribution) goes on as an ordinary reply."""
    assert raw.id is not None
    ours = answered(session=session, ids=list(verdict.data.get("ours", ())))
    contribution = (
        session.get(Contribution, ours.contribution_id)
        if ours is not None and ours.contribution_id is not None
        else None
    )
    author = session.get(Participant, contribution.participant_id) if contribution else None
    if contribution is None or author is None or author.email != mail.from_addr:
        return act_reply(app=app, session=session, raw=raw, mail=mail, verdict=verdict)
    set_publication(
        app=app,
        session=session,
        contribution=contribution,
        choice=verdict.data["choice"],
        organisation=verdict.data.get("organisation"),
        raw_id=raw.id,
        message_id=mail.message_id,
    )
    queue_reply(
        app=app,
        session=session,
        contribution=contribution,
        to=mail.from_addr,
        template="publication.txt",
        kind="publication",
        dedupe_key=f"publication:{contribution.ref}:{raw.id}",
    )
    reason = f"{verdict.reason}: {contribution.ref} is now {contribution.publication}"
    return Outcome(raw.id, mail.message_id, "consent", reason, ref=contribution.ref)
