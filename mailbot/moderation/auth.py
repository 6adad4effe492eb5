"""Authentication of moderators: a configured address AND (a valid token OR aligned DKIM).

DKIM is believed when an `Authentication-Results` header from a trusted authserv-id says
`dkim=pass` for the From domain (or a parent of it); with `verify_dkim = true` and no trusted
server configured, dkimpy checks the signature itself. Anything else is refused with a reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import authres
from sqlmodel import Session

from mailbot.config import Settings
from mailbot.moderation import tokens
from mailbot.parse import ParsedMail

log = logging.getLogger(__name__)

# dkimpy's DNS lookup; tests put a function here that answers from a dict.
DKIM_DNS: Callable[..., Any] | None = None


@dataclass(frozen=True)
class AuthResult:
    authserv_id: str
    results: tuple[tuple[str, str, dict[str, str]], ...]  # (method, result, properties)


@dataclass(frozen=True)
class Proof:
    ok: bool
    proof: str | None  # token:<id> | dkim:<authserv-id> | dkim:dkimpy
    reasons: tuple[str, ...] = ()
    token_id: str | None = None
    token_args: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


MAX_AUTH_RESULTS = 8192  # characters: a real header is a few hundred; longer is not believed


def parse_authentication_results(value: str) -> AuthResult | None:
    """RFC 8601 `authserv-id [version]; method=result prop=value ...` by `authres`, a
    quote- and comment-aware parser (linear; bounded input). None when unreadable."""
    if len(value) > MAX_AUTH_RESULTS:
        return None
    try:
        parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
    except Exception:  # authres.SyntaxError, RecursionError on deep comments: not believed
        return None
    results = tuple(
        (
            str(r.method).lower(),
            str(r.result).lower(),
            {f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in r.properties},
        )
        for r in parsed.results
    )
    return AuthResult(str(parsed.authserv_id).lower(), results)


def authserv_id_of(value: str) -> str:
    """The authserv-id a header claims (its first word), without parsing the rest."""
    head = value[:512].split(";", 1)[0].split()
    return head[0].lower() if head else ""


def trusted_results(*, mail: ParsedMail, trusted: set[str]) -> tuple[str | None, str]:
    """The ONE Authentication-Results header we believe: the topmost with a trusted
    authserv-id, the one our MTA prepended. Copies below it came with the message (the MTA
    must remove forged copies bearing its id, as OpenDMARC and rspamd do). Returns (value,
    reason)."""
    ignored: list[str] = []
    for value in mail.header_all("authentication-results"):
        if authserv_id_of(value) in trusted:
            return value, ""
        ignored.append(authserv_id_of(value)[:80] or "?")
    if ignored:
        ids = ", ".join(dict.fromkeys(ignored))
        return None, f"Authentication-Results from untrusted authserv-id {ids} ignored"
    return None, "no Authentication-Results from a trusted authserv-id"


def aligned(signing_domain: str, from_domain: str) -> bool:
    d, f = signing_domain.lower().strip("."), from_domain.lower().strip(".")
    return "." in d and (f == d or f.endswith("." + d))


def header_proof(*, mail: ParsedMail, settings: Settings) -> Proof:
    """What the trusted MTA's Authentication-Results prove: a DKIM pass aligned with From.
    Headers only, no DNS: cheap enough inside the filing transaction (the receipt asks)."""
    from_domain = mail.from_addr.rpartition("@")[2]
    trusted = {t.lower() for t in settings.moderation.trusted_authserv_ids}
    twice = duplicated_headers(mail)
    if twice:  # DKIM signs the bottom copy; the command finder would read the top one
        return Proof(False, None, (f"duplicate {', '.join(twice)} header: DKIM not believed",))
    if not trusted:
        return Proof(False, None, ("no DKIM result from a trusted server",))
    value, why = trusted_results(mail=mail, trusted=trusted)
    parsed = parse_authentication_results(value) if value is not None else None
    if value is not None and parsed is None:
        return Proof(False, None, ("the trusted Authentication-Results header is unreadable",))
    if parsed is None:
        return Proof(False, None, (why,))
    for method, result, props in parsed.results:
        if method != "dkim" or result != "pass":
            continue
        domain = props.get("header.d") or props.get("header.i", "").rpartition("@")[2]
        if domain and aligned(domain, from_domain):
            return Proof(True, f"dkim:{parsed.authserv_id}")
    return Proof(
        False, None, (f"{parsed.authserv_id} reports no DKIM pass aligned with {from_domain}",)
    )


def dkim_proof(*, mail: ParsedMail, raw: bytes, settings: Settings) -> Proof:
    """Did this message pass DKIM aligned with its From, by a source we trust? The trusted
    MTA's results when there is one, else (with `verify_dkim`) our own check, by dkimpy."""
    proof = header_proof(mail=mail, settings=settings)
    moderation = settings.moderation
    own_check = moderation.verify_dkim and not moderation.trusted_authserv_ids
    if proof.ok or not own_check or duplicated_headers(mail):
        return proof
    return _dkimpy(raw=raw, from_domain=mail.from_addr.rpartition("@")[2], reasons=[])


SINGLE_HEADERS = ("from", "subject", "to", "date")
# What the command finder reads must be signed: the Subject and From (the body is covered by
# the body hash, unless a length tag leaves a tail unsigned, which we refuse).
MUST_SIGN = (b"from", b"subject")


def duplicated_headers(mail: ParsedMail) -> list[str]:
    return [name for name in SINGLE_HEADERS if len(mail.header_all(name)) > 1]


def _covers_what_we_read(checker: Any) -> str | None:
    """Why a verified signature still proves nothing about the command (None: it covers it)."""
    signed = set(getattr(checker, "include_headers", ()) or ())
    missing = [h.decode() for h in MUST_SIGN if h not in signed]
    if missing:
        return f"DKIM signature does not cover {', '.join(missing)}"
    if b"l" in (getattr(checker, "signature_fields", None) or {}):
        return "DKIM signature covers only part of the body (l= tag)"
    return None


def _dkimpy(*, raw: bytes, from_domain: str, reasons: list[str]) -> Proof:
    import dkim

    count = len(
        re.findall(rb"(?im)^dkim-signature\s*:", raw.split(b"\r\n\r\n")[0].split(b"\n\n")[0])
    )
    for idx in range(count):
        checker = dkim.DKIM(raw)
        try:
            ok = checker.verify(idx=idx, **({"dnsfunc": DKIM_DNS} if DKIM_DNS else {}))
        except Exception as exc:  # malformed signature or DNS trouble: not a pass
            log.info("dkim verification error: %s", exc)
            ok = False
        domain = (checker.domain or b"").decode("ascii", "replace")
        uncovered = _covers_what_we_read(checker) if ok else None
        if uncovered:
            reasons.append(uncovered)
            continue
        if ok and aligned(domain, from_domain):
            return Proof(True, "dkim:dkimpy")
        reasons.append(f"DKIM signature of {domain or '?'} did not verify aligned")
    if not count:
        reasons.append("no DKIM signature")
    return Proof(False, None, tuple(reasons))


def is_moderator(settings: Settings, address: str) -> bool:
    return address.strip().lower() in settings.consultation.moderators


def authenticate(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    mail: ParsedMail,
    raw: bytes,
    raw_id: int | None,
    action: str,
    item: str,
    explicit: Sequence[str],
    found: Sequence[str],
    dkim: Proof | None = None,
) -> Proof:
    """Prove a moderator command: sender is a moderator AND (token OR trusted DKIM).

    `explicit` tokens were written on the command line; `found` are all tokens of the
    message, quoted text included (a reply quoting the notice carries its token).
    A token that proves the command is consumed here. `dkim`: the proof computed before
    the transaction wrote anything (dkimpy may query DNS; no lock is held meanwhile).
    """
    sender = mail.from_addr
    if not is_moderator(settings, sender):
        return Proof(False, None, (f"{sender or 'the sender'} is not a moderator",))
    reasons: list[str] = []
    candidates = list(dict.fromkeys([*explicit, *found]))
    for token in candidates:
        result = tokens.check(
            session=session, settings=settings, now=now, token=token, action=action, item=item
        )
        if result.ok and result.row is not None and result.row.issued_to not in (None, sender):
            # A notice forwarded (or leaked) to someone else proves nothing for them.
            reasons.append(f"token {result.token_id} was not sent to {sender}")
            continue
        if result.ok and result.token_id:
            if tokens.consume(
                session=session, token_id=result.token_id, now=now, by=sender, raw_id=raw_id
            ):
                args = tuple(result.row.args) if result.row else ()
                return Proof(
                    True, f"token:{result.token_id}", token_id=result.token_id, token_args=args
                )
            reasons.append(f"token {result.token_id} was already used")
        elif token in explicit or (
            result.row is not None
            and result.row.action == action.lower()
            and result.row.item == tokens.normalize_item(item)
        ):
            reasons.append(result.reason)
    if not candidates:
        reasons.append("no token")
    elif not reasons:
        reasons.append(f"no token for {action} {tokens.normalize_item(item)}")
    dkim = dkim or dkim_proof(mail=mail, raw=raw, settings=settings)
    if dkim.ok:
        return dkim
    return Proof(False, None, (*reasons, *dkim.reasons))
