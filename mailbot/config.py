"""Settings: one validated object, built once at start-up from config/mailbot.toml + MAILBOT_*."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mailbot.campaigns.config import Campaigns
from mailbot.config_source import (
    ENV_PREFIX,
    anchor_paths,
    environment_for,
    error_line,
    find_config,
)
from mailbot.hostile.config import Limits
from mailbot.privacy.config import Privacy
from mailbot.resources import CHECKOUT, templates_root

PROJECT_DIR = CHECKOUT  # the source checkout (tests read its config/ and templates/)
DEFAULT_CONFIG = Path("config/mailbot.toml")
# The secret of the sample config: `run` refuses it, and any secret shorter than this.
SAMPLE_SECRET = "change-me-in-production"
MIN_SECRET_BYTES = 32


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: dict[str, str]
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    closes: datetime | None = None  # a topic may close before the consultation does


class Consultation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    titles: dict[str, str] = {}  # the title in other languages: {fr = "...", es = "..."}
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    command_address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    list_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    ref_prefix: str = Field(pattern=r"^[A-Z][A-Z0-9]*$")
    moderators: tuple[str, ...] = ()
    timezone: str = "UTC"
    opens: datetime
    closes: datetime
    default_language: str = "en"
    languages: tuple[str, ...] = ("en",)
    default_topic: str = "general"
    # A person's message delivered through a mailing list is filed; its author gets a
    # private receipt only when this is on (never an answer to the list itself).
    acknowledge_list_copies: bool = False
    topics: tuple[Topic, ...]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("moderators")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value)

    @model_validator(mode="after")
    def _coherent(self) -> Consultation:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        slugs = [t.slug for t in self.topics]
        if len(set(slugs)) != len(slugs):
            raise ValueError("topic slugs must be unique")
        if self.default_topic not in slugs:
            raise ValueError(f"default_topic {self.default_topic!r} is not one of the topics")
        if self.default_language not in self.languages:
            raise ValueError("default_language must be one of languages")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def aware(self, moment: datetime) -> datetime:
        """Config times without an offset are wall-clock times in the consultation's zone."""
        return moment if moment.tzinfo else moment.replace(tzinfo=self.tz)

    @property
    def opens_at(self) -> datetime:
        return self.aware(self.opens)

    @property
    def closes_at(self) -> datetime:
        return self.aware(self.closes)

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()

    def title_in(self, lang: str) -> str:
        """The consultation's title in `lang` (`titles`), else the one `title`."""
        return self.titles.get(lang) or self.title

    def topic(self, slug: str) -> Topic | None:
        return next((t for t in self.topics if t.slug == slug), None)


class Server(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None
    data_dir: Path = Path("var")
    listen: str = Field(default="127.0.0.1:8025", pattern=r"^\[?[^\s\]]*\]?:\d{1,5}$")
    relay: str | None = Field(default=None, pattern=r"^(smtp|smtps|smtp\+starttls)://")
    protocol: Literal["smtp", "lmtp"] = "smtp"
    # "process": parse and file in a child process, so the listener keeps its CPU and the GIL.
    pipeline: Literal["process", "thread"] = "process"
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


class Publish(BaseModel):
    """[publish]: the static archive, feeds and exports (issue 8)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None  # where the archive is served; feeds then carry absolute links
    feed_entries: int = Field(default=50, gt=0)
    threads_per_page: int = Field(default=200, gt=0)
    search: bool = True  # build the Pagefind full-text index with the archive (pagefind-bin)


class Moderation(BaseModel):
    """[moderation]: who gets published at once, and how moderators prove who they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["post", "hold-first-time", "hold-all"] = "post"
    token_ttl_days: int = Field(default=7, gt=0)  # moderation and confirmation tokens
    trusted_authserv_ids: tuple[str, ...] = ()  # Authentication-Results we believe
    verify_dkim: bool = False  # check DKIM ourselves (dkimpy) when no trusted server
    command_lines: int = Field(default=10, gt=0)  # lines of a message read for commands


class Calendar(BaseModel):
    """[calendar]: deadline policy, reminders and the weekly digest (issue 6)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheduler: bool = True  # run the APScheduler jobs inside `mailbot run`
    late_policy: Literal["accept", "refuse"] = "accept"
    reminder_offsets: tuple[str, ...] = ("7d", "1d")  # before the deadline: 7d, 36h, 90m
    digest_weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    digest_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local
    digest_when_empty: Literal["note", "skip"] = "note"
    digest_volume: int = Field(default=1, ge=1)
    digest_first_lines: int = Field(default=3, ge=1)  # paragraphs or list items per excerpt
    digest_excerpt_chars: int = Field(default=300, ge=40)  # cut at a sentence or word, then …
    digest_moderation_stats: bool = False  # show holds/approvals/rejections to every reader
    # The list's copy: "default" = one in the consultation's default language; "each" = one
    # per language in consultation.languages. Direct subscribers get their LANGUAGE.
    digest_list_languages: Literal["default", "each"] = "default"
    # Texts of the digest a site writes itself, per language: {en = "...", fr = "..."}.
    digest_intro: dict[str, str] = {}
    digest_footer: dict[str, str] = {}
    misfire_grace_time: int = Field(default=86400, gt=0)  # seconds; see mailbot/calendar

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for item in value:
            if not re.fullmatch(r"[1-9]\d*[dhm]", item):
                raise ValueError(f"offset {item!r} must look like 7d, 36h or 90m")
        return value


class Threads(BaseModel):
    """[threads]: how contributions are grouped into conversations (issue 4)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # references: headers only | rfc5256: RFC 5256 REFERENCES, subject merging included |
    # consultation: rfc5256 with more reply prefixes, merging only within a topic and window.
    mode: Literal["references", "rfc5256", "consultation"] = "consultation"
    window_days: int = Field(default=14, ge=0)  # subject fallback window; 0 = no time limit


class Settings(BaseModel):
    """Everything the bot knows at start-up; sections other issues add are plain dicts here."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: Path = DEFAULT_CONFIG
    server: Server = Server()
    consultation: Consultation
    calendar: Calendar = Calendar()  # [calendar] (issue 6)
    moderation: Moderation = Moderation()
    publish: Publish = Publish()
    limits: Limits = Limits()  # [limits]: rate limits and input limits (issue 7)
    threads: Threads = Threads()  # [threads] (issue 4)
    privacy: Privacy = Privacy()  # [privacy] (issue 14)
    campaigns: Campaigns = Campaigns()  # [campaigns] (issue 16)


class ConfigError(Exception):
    """Config could not be loaded; `errors` holds 'file: key: message' lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def config_path(explicit: Path | str | None = None) -> Path:
    return find_config(explicit)[0]


def env_overrides(
    environ: dict[str, str] | None = None, origins: dict[tuple[str, ...], str] | None = None
) -> dict[str, Any]:
    """MAILBOT_<KEY> overrides [server] <key>; MAILBOT_<SECTION>__<KEY> any other section.
    `origins`, when given, is filled with (section, key) -> the variable's name."""
    environ = dict(os.environ if environ is None else environ)
    server_keys = set(Server.model_fields)
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if "__" in key:
            section, _, sub = key.partition("__")
        elif key in server_keys:
            section, sub = "server", key
        else:
            continue
        out.setdefault(section, {})[sub] = value
        if origins is not None:
            origins[(section, sub)] = f"environment variable {name}"
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(
    path: Path | str | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read the TOML file, overlay MAILBOT_* variables and explicit overrides, validate.
    Relative paths in the file are relative to the file; in the environment, to the cwd."""
    source, looked = find_config(path)
    try:
        text = source.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (FileNotFoundError, IsADirectoryError):
        where = ", ".join(str(p) for p in looked)
        raise ConfigError([f"no config file (looked at {where}; set MAILBOT_CONFIG)"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: {exc}"]) from None
    env, env_lines = environment_for(source, environ)
    origins: dict[tuple[str, ...], str] = {}
    from_env = env_overrides(env, origins)
    for key, where in list(origins.items()):
        name = where.removeprefix("environment variable ")
        if name in env_lines:
            origins[key] = f"{name} ({env_lines[name]})"
    data = anchor_paths(data, source.parent)
    data = _merge(data, anchor_paths(from_env, Path.cwd()))
    data = _merge(data, anchor_paths(overrides or {}, Path.cwd()))
    data["source"] = source
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [error_line(err, source=source, text=text, origins=origins) for err in exc.errors()]
        ) from None
