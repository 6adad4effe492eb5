"""Mail that came through a mailing list: a person's contribution, not an automatic reply.

RFC 3834 asks us not to *answer* list traffic (`Precedence: list|bulk`, `List-Id`); it does
not make the message automatic. A list copy is filed, threaded and published like any other
contribution and marked `via_list` with the list's id; it is never answered on the list, and
its author gets a private receipt only when `consultation.acknowledge_list_copies` is on.
"""

from __future__ import annotations

import dataclasses
import re
from email.utils import getaddresses, parseaddr

from sqlmodel import Session

from mailbot.app import App
from mailbot.config import Settings
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
# "Ana Silva via Caucus", "'Ana' via Group": the name a list gives a From it rewrote.
VIA = re.compile(r"^\W*(?P<name>.*?)\W*\s+via\s+\S", re.I)
# Where lists put the author when they rewrite From, in the order we believe them.
ORIGINAL_FROM = ("x-original-from", "reply-to", "cc")
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


def original_author(mail: ParsedMail, settings: Settings) -> ParsedMail:
    """The author back from a list that rewrote From for DMARC (Mailman's munge_from, Sympa's
    dmarc_protection, Google Groups): From is the list's own address named "Ana via List",
    and the author is in X-Original-From, Reply-To or (named as in From) Cc. The list's
    address is kept in `list_from`. This proves nothing: a moderator command still needs its
    own proof (a token, or DKIM aligned with the From header, which names the list)."""
    via = VIA.match(mail.from_name)
    if not via or not mail.from_addr or not via_list(mail):
        return mail
    lists = list_addresses(mail, caucus=settings.consultation.list_address)
    if mail.from_addr not in lists:
        return mail
    for header in ORIGINAL_FROM:
        for name, addr in getaddresses(list(mail.header_all(header))):
            addr = addr.strip().lower()
            if "@" not in addr or addr in lists:
                continue
            if header == "cc" and name.strip() != via.group("name"):
                continue  # a Cc is the author only when named as the rewritten From says
            return dataclasses.replace(
                mail,
                from_addr=addr,
                from_name=name.strip() or via.group("name"),
                list_from=mail.from_addr,
            )
    return mail


def mark_list_copy(*, app: App, session: Session, filing: Filing) -> None:
    """Mark a list copy and decide its receipt; after moderation (30), so a list copy is
    held like any other contribution under a hold policy."""
    mail = filing.mail
    if not via_list(mail):
        return
    contribution = filing.contribution
    contribution.via_list = clean_list_id(list_id(mail)) or "list"
    filing.notes.append(f"via list {contribution.via_list}")
    if mail.list_from:
        filing.notes.append(
            f"From rewritten by the list ({mail.list_from}): author {mail.from_addr}"
        )
    author = mail.from_addr
    if not app.consultation.acknowledge_list_copies or author in list_addresses(
        mail, caucus=app.consultation.list_address
    ):
        filing.acknowledge = False
        filing.notes.append("list copy: not answered")
