"""Settings: one validated object, built once at start-up from config/mailbot.toml + MAILBOT_*.

The [consultation] and [server] sections live in `config_consultation` and `config_server`
(other areas' sections in their areas: [limits], [privacy], [campaigns]); their names are
importable from here, where the rest of the code looks for them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mailbot.campaigns.config import Campaigns
from mailbot.config_consultation import Consultation
from mailbot.config_consultation import Topic as Topic
from mailbot.config_server import MIN_SECRET_BYTES as MIN_SECRET_BYTES
from mailbot.config_server import SAMPLE_SECRET as SAMPLE_SECRET
from mailbot.config_server import Server
from mailbot.config_server import secret_problem as secret_problem
from mailbot.config_source import (
    ENV_PREFIX,
    anchor_paths,
    environment_for,
    error_line,
    find_config,
)
from mailbot.hostile.config import Limits
from mailbot.privacy.config import Privacy
from mailbot.resources import CHECKOUT

PROJECT_DIR = CHECKOUT  # the source checkout (tests read its config/ and templates/)
DEFAULT_CONFIG = Path("config/mailbot.toml")


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
