"""Mail that came through a mailing list: a person's contribution, not an automatic reply.

RFC 3834 asks us not to *answer* list traffic (`Precedence: list|bulk`, `List-Id`); it does
not make the message automatic. A list copy is filed, threaded and published like any other
contribution and marked `via_list` with the list's id; it is never answered on the list, and
its author gets a private receipt only when `consultation.acknowledge_list_copies` is on.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from sqlmodel import Session

from mailbot.app import App
from mailbot.contributions import Filing
from mailbot.parse import ParsedMail

# Headers list managers add to the copies they deliver (RFC 2369/2919, Mailman, Sympa,
# Google Groups, LISTSERV, ezmlm, Yahoo/Groups.io).
LIST_HEADERS = (
    "list-id",
    "list-post",
    "list-unsubscribe",
    "list-archive",
    "mailing-list",
    "x-mailing-list",
    "x-mailman-version",
    "x-sympa-to",
    "x-google-group-id",
    "x-listserver",
    "x-list",
    "x-ezmlm-list",
    "x-loop-list",
)
# Majordomo, ezmlm and older list managers add no List-Id: their Sender (owner-x@,
# x-bounces@, x-request@) or X-Loop (owner-majordomo@) names the list.
LIST_SENDER = re.compile(
    r"^(?:owner-(?P<a>[^@]+)|(?P<b>[^@]+?)-(?:bounces?|owner|request|admin))(?:\+[^@]*)?@(?P<d>\S+)$"
)
LIST_LOOP = re.compile(r"\b(?:owner-|majordomo|listserv|ezmlm|sympa)", re.I)
LIST_ID = re.compile(r"<([^<>\s]+)>")
MAILTO = re.compile(r"<mailto:([^>?]+)", re.I)
_NOT_SHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def clean_list_id(value: str | None) -> str | None:
    """A list id fit to show in a page, a digest or an export: it is the sender's text, so
    no control character or line break (which could forge lines or headers), one line."""
    if not value:
        return None
    return " ".join(_NOT_SHOWN.sub(" ", value).split())[:200] or None


def list_id(mail: ParsedMail) -> str | None:
    """The id of the list that delivered this copy (`caucus.lists.example.org`), or None."""
    value = mail.header("list-id")
    if value:
        match = LIST_ID.search(value)
        return (match.group(1) if match else value.strip())[:200].lower() or "list"
    for name in LIST_HEADERS[1:]:
        value = mail.header(name)
        if value is not None:
            match = MAILTO.search(value)
            words = value.split()
            return (match.group(1) if match else words[0] if words else name)[:200].lower()
    sender = parseaddr(mail.header("sender") or "")[1].lower()
    if match := LIST_SENDER.match(sender):
        return f"{match.group('a') or match.group('b')}@{match.group('d')}"[:200]
    if any(LIST_LOOP.search(v) for v in mail.header_all("x-loop")):
        return "list"
    return None


def via_list(mail: ParsedMail) -> bool:
    return list_id(mail) is not None


def list_addresses(mail: ParsedMail, *, caucus: str) -> set[str]:
    """The list's own posting address(es) and the caucus list: never sent a receipt."""
    found = {m.group(1).strip().lower() for m in MAILTO.finditer(mail.header("list-post") or "")}
    return found | {caucus.lower()}


def mark_list_copy(*, app: App, session: Session, filing: Filing) -> None:
    """Mark a list copy and decide its receipt; after moderation (30), so a list copy is
    held like any other contribution under a hold policy."""
    mail = filing.mail
    if not via_list(mail):
        return
    contribution = filing.contribution
    contribution.via_list = clean_list_id(list_id(mail)) or "list"
    filing.notes.append(f"via list {contribution.via_list}")
    author = mail.from_addr
    if not app.consultation.acknowledge_list_copies or author in list_addresses(
        mail, caucus=app.consultation.list_address
    ):
        filing.acknowledge = False
        filing.notes.append("list copy: not answered")
