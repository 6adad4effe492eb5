"""[consultation]: the consultation and its topics (ids, addresses, dates in its time zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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
