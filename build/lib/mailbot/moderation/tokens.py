"""Tokens: HMAC-SHA256 signed, bound to one action on one item, expiring, used once.

A token reads `mbt.<id>.<expiry>.<signature>`; the signature covers id, expiry, action and
item, so a token for APPROVE WGIG-0001 proves nothing about WGIG-0002 or about REJECT.
Issued tokens are stored; `used_at` is set by a conditional UPDATE, so two messages racing
with the same token cannot both win.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from mailbot.clock import utc
from mailbot.config import Settings
from mailbot.moderation.models import ModerationToken

TOKEN_RE = re.compile(r"\bmbt\.([a-z2-7]{10})\.([0-9a-z]{1,8})\.([a-z2-7]{24})\b", re.I)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def normalize_item(item: str) -> str:
    return " ".join(item.split()).upper()


def signature(*, secret: str, token_id: str, expiry: str, action: str, item: str) -> str:
    message = f"v1|{token_id}|{expiry}|{action.lower()}|{normalize_item(item)}".encode()
    return _b32(hmac.new(secret.encode(), message, hashlib.sha256).digest()[:15])


def issue(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    action: str,
    item: str,
    issued_to: str | None,
    args: Sequence[str] = (),
) -> str:
    """Create, store and return a new token for `action` on `item`."""
    token_id = _b32(secrets.token_bytes(10))[:10]
    expires_at = now + timedelta(days=settings.moderation.token_ttl_days)
    expiry = _b36(int(expires_at.timestamp()))
    sig = signature(
        secret=settings.server.secret, token_id=token_id, expiry=expiry, action=action, item=item
    )
    session.add(
        ModerationToken(
            id=token_id,
            action=action.lower(),
            item=normalize_item(item),
            args=list(args),
            issued_to=issued_to,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return f"mbt.{token_id}.{expiry}.{sig}"


def find_tokens(text: str) -> list[str]:
    """Every token-looking string in a text, quoted parts included, first seen first."""
    return list(dict.fromkeys(m.group(0).lower() for m in TOKEN_RE.finditer(text)))


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    token_id: str | None
    reason: str
    row: ModerationToken | None = None


def check(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    token: str,
    action: str | None,
    item: str | None,
) -> TokenCheck:
    """Is `token` good for `action` on `item` now? (None, None: whatever it was issued for)."""
    match = TOKEN_RE.fullmatch(token.strip().lower())
    if not match:
        return TokenCheck(False, None, "not a token")
    token_id, expiry, sig = match.groups()
    row = session.get(ModerationToken, token_id)
    if action is None or item is None:
        if row is None:
            return TokenCheck(False, token_id, "unknown token")
        action, item = row.action, row.item
    secret = settings.server.secret
    good = signature(secret=secret, token_id=token_id, expiry=expiry, action=action, item=item)
    if not hmac.compare_digest(good, sig):
        if row is not None and hmac.compare_digest(
            signature(
                secret=secret, token_id=token_id, expiry=expiry, action=row.action, item=row.item
            ),
            sig,
        ):
            return TokenCheck(
                False,
                token_id,
                f"token {token_id} was issued for {row.action} {row.item}, "
                f"not {action.lower()} {normalize_item(item)}",
                row,
            )
        return TokenCheck(False, token_id, f"token {token_id} has a bad signature", row)
    if now >= datetime.fromtimestamp(int(expiry, 36), UTC):
        return TokenCheck(False, token_id, f"token {token_id} expired", row)
    if row is None:
        return TokenCheck(False, token_id, f"token {token_id} is unknown here")
    if row.used_at is not None:
        return TokenCheck(
            False,
            token_id,
            f"token {token_id} was already used on {utc(row.used_at):%Y-%m-%d %H:%M} UTC",
            row,
        )
    return TokenCheck(True, token_id, "valid", row)


def consume(*, session: Session, token_id: str, now: datetime, by: str, raw_id: int | None) -> bool:
    """Mark a token used; False if someone else used it first."""
    session.flush()
    result = session.execute(
        update(ModerationToken)
        .where(ModerationToken.id == token_id)  # type: ignore[arg-type]
        .where(ModerationToken.used_at.is_(None))  # type: ignore[union-attr]
        .values(used_at=now, used_by=by, used_raw_id=raw_id)
    )
    row = session.get(ModerationToken, token_id)
    if row is not None:
        session.refresh(row)
    return bool(result.rowcount)  # type: ignore[attr-defined]
