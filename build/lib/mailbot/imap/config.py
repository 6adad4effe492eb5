"""IMAP settings: `MAILBOT_IMAP_URL` (one URL per folder) plus the optional `[imap]` section.

    MAILBOT_IMAP_URL="imaps://user:pass@imap.example.org/INBOX"
    MAILBOT_IMAP_URL="imap://user:pass@host/INBOX imaps://other@host2/Lists%2Fcaucus"

`imaps://` is TLS from the first byte; `imap://` upgrades with STARTTLS and refuses a server
that does not offer it, unless `allow_plain` says plain text is acceptable. Query parameters
override the `[imap]` section for one URL: `after=move|seen`, `processed=Folder`,
`cafile=/path.pem`, `allow_plain=yes`, `auth=xoauth2` (the password part is then the bearer
token) and `token_file=/path` (a token re-read at every login, for an external refresher).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mailbot.config import Settings


class ImapConfigError(ValueError):
    """The IMAP configuration is unusable; the message is one line for the operator."""


class ImapOptions(BaseModel):
    """The `[imap]` section; every key optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: tuple[str, ...] = ()  # more folders, besides MAILBOT_IMAP_URL / server.imap_url
    after: Literal["move", "seen"] = "move"  # what marks a stored message as taken
    processed_folder: str = "Processed"
    batch_size: int = Field(default=200, gt=0, le=10_000)
    batch_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # RFC 2177: servers may drop an IDLE after 30 min; re-issue well before.
    idle_renew: float = Field(default=25 * 60, gt=0, lt=29 * 60)
    poll_interval: float = Field(default=60.0, gt=0)  # servers without IDLE
    backoff_initial: float = Field(default=1.0, gt=0)
    backoff_max: float = Field(default=300.0, gt=0)
    timeout: float = Field(default=60.0, gt=0)  # socket timeout of one command
    cafile: Path | None = None
    allow_plain: bool = False


@dataclass(frozen=True)
class ImapAccount:
    """One folder to read: where, as whom, and what to do with what was taken."""

    host: str
    port: int
    user: str
    secret: str  # password, or bearer token when auth == "xoauth2"
    folder: str
    implicit_tls: bool
    auth: Literal["password", "xoauth2"]
    token_file: Path | None
    after: Literal["move", "seen"]
    processed_folder: str
    cafile: Path | None
    allow_plain: bool
    options: ImapOptions

    @property
    def key(self) -> str:
        """The account's identity in the position table (never contains the secret)."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.key}/{self.folder}"


_YES = {"1", "yes", "true", "on"}


def parse_imap_url(url: str, options: ImapOptions | None = None) -> ImapAccount:
    """One `imap[s]://user:secret@host[:port]/Folder?...` URL -> an account."""
    options = options or ImapOptions()
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ImapConfigError(f"IMAP URL must start with imap:// or imaps://, not {parts.scheme!r}")
    if not parts.hostname or not parts.username:
        raise ImapConfigError("IMAP URL needs a user and a host: imaps://user:pass@host/INBOX")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"after", "processed", "cafile", "allow_plain", "auth", "token_file"}
    if unknown:
        raise ImapConfigError(f"unknown IMAP URL parameter(s): {', '.join(sorted(unknown))}")
    after = query.get("after", options.after)
    auth = query.get("auth", "password")
    if after not in ("move", "seen"):
        raise ImapConfigError(f"IMAP after= must be move or seen, not {after!r}")
    if auth not in ("password", "xoauth2"):
        raise ImapConfigError(f"IMAP auth= must be password or xoauth2, not {auth!r}")
    token_file = Path(query["token_file"]) if "token_file" in query else None
    secret = unquote(parts.password or "")
    if not secret and token_file is None:
        raise ImapConfigError(f"IMAP URL for {parts.username}@{parts.hostname} has no password")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError as exc:  # a non-numeric port
        raise ImapConfigError(f"IMAP URL: {exc}") from None
    cafile = query.get("cafile")
    return ImapAccount(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        secret=secret,
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        implicit_tls=parts.scheme == "imaps",
        auth=auth,  # type: ignore[arg-type]  # checked above
        token_file=token_file,
        after=after,  # type: ignore[arg-type]  # checked above
        processed_folder=query.get("processed", options.processed_folder),
        cafile=Path(cafile) if cafile else options.cafile,
        allow_plain=query["allow_plain"].lower() in _YES
        if "allow_plain" in query
        else options.allow_plain,
        options=options,
    )


def imap_options(settings: Settings) -> ImapOptions:
    raw: Any = getattr(settings, "imap", None) or {}
    try:
        return ImapOptions.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ImapConfigError(f"{settings.source}: imap.{key}: {first['msg']}") from None


def imap_accounts(settings: Settings) -> list[ImapAccount]:
    """Every configured folder, in order; empty when IMAP intake is not configured."""
    options = imap_options(settings)
    urls = (settings.server.imap_url or "").split() + list(options.urls)
    return [parse_imap_url(url, options) for url in urls]


def imap_configured(settings: Settings) -> bool:
    return bool((settings.server.imap_url or "").strip() or imap_options(settings).urls)
