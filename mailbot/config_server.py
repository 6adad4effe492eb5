"""[server]: where the bot listens, stores and relays, and the secret that signs its tokens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mailbot.resources import templates_root

# The secret of the sample config: `run` refuses it, and any secret shorter than this.
SAMPLE_SECRET = "change-me-in-production"
MIN_SECRET_BYTES = 32


class Server(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None
    data_dir: Path = Path("var")
    listen: str = Field(default="127.0.0.1:8025", pattern=r"^\[?[^\s\]]*\]?:\d{1,5}$")
    relay: str | None = Field(default=None, pattern=r"^(smtp|smtps|smtp\+starttls)://")
    protocol: Literal["smtp", "lmtp"] = "smtp"
    # "process": parse and file in a child process, so the listener keeps its CPU and the GIL.
    pipeline: Literal["process", "thread"] = "process"
    # Where that child prepares (checks, parses, classifies) the next messages while it files
    # the ones in hand: a helper process of its own ("auto": when there is a second CPU).
    prepare: Literal["auto", "process", "inline"] = "auto"
    max_message_size: int = Field(default=25 * 1024 * 1024, gt=0)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    secret: str = SAMPLE_SECRET
    templates_dir: Path | None = None  # a site's own templates; any file there wins
    imap_url: str | None = None
    # Outgoing relay (transport.py): a CA bundle for a relay with its own certificate, the TLS
    # mode (overrides the URL's scheme), and a login kept out of the URL.
    relay_ca_file: Path | None = None
    relay_tls: Literal["auto", "starttls", "tls", "none"] | None = None
    relay_username: str | None = None
    relay_password: str | None = None
    # How long a message is retried before it fails and the moderators are told (Postfix's
    # maximal_queue_lifetime): 5d, 36h, 90m, 45s.
    queue_lifetime: str = Field(default="5d", pattern=r"^[1-9]\d*[dhms]$")
    # DKIM signing at send time (signing.py); `mailbot dkim keygen` makes the key.
    dkim_selector: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    dkim_key_file: Path | None = None
    dkim_domain: str | None = None  # default: the consultation address's domain
    # RFC 8058 one-click unsubscribe: an https URL for the digest's List-Unsubscribe.
    unsubscribe_url: str | None = Field(default=None, pattern=r"^https://")
    # Several processes on one PostgreSQL (mailbot/scale): a stored message or outbox row a
    # process claimed goes back to the others this many seconds after it stopped renewing.
    claim_lease: int = Field(default=60, gt=0)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'mailbot.sqlite3'}"

    @property
    def outbox_maildir(self) -> Path:
        return self.data_dir / "outbox-maildir"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def templates(self) -> tuple[Path, ...]:
        """Template folders in search order: the site's templates_dir, then the shipped ones."""
        shipped = templates_root()
        return (self.templates_dir, shipped) if self.templates_dir else (shipped,)

    @property
    def queue_lifetime_delta(self) -> timedelta:
        unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[self.queue_lifetime[-1]]
        return timedelta(**{unit: int(self.queue_lifetime[:-1])})


def secret_problem(secret: str) -> str | None:
    """Why `secret` may not sign tokens in production, or None when it may."""
    if secret == SAMPLE_SECRET:
        return "secret is the sample config's; run `mailbot init` or set MAILBOT_SECRET"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"secret is shorter than {MIN_SECRET_BYTES} bytes"
    return None
