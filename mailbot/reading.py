"""Reading a contribution's text: what filing needs from the text alone, before the write turn.

The author's new words (quoted text left out), their language when the text says enough, the
topic its keywords name, the hash a participant can check, and its campaign fingerprint each
read only the message and the settings. `prepare` works them out (in the pipeline's helper
process when there is one: prepare.py, preparer.py) and puts them on the parsed mail, so the
filer, which is serial and holds the write turn, only looks them up. Without a reading (a
message filed by another way) filing works them out itself, the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mailbot.campaigns.signature import Indexed, indexed
from mailbot.config import Settings
from mailbot.conversation.newtext import author_words
from mailbot.language import detect
from mailbot.parse import ParsedMail
from mailbot.topics import by_keyword


@dataclass(frozen=True)
class Reading:
    new_text: str  # the author's words; the whole text when nothing is new
    language: str | None  # the model's, None when the text is short or unclear
    keyword_topic: str | None  # the topic its keywords name (topics.by_keyword)
    text_sha256: str
    campaign: Indexed | None  # fingerprint and band keys; None: too short, or campaigns off


def text_sha256(text: str) -> str:
    """The hash a participant can check later: of the text as we publish it (UTF-8, LF)."""
    return hashlib.sha256(text.strip().replace("\r\n", "\n").encode("utf-8")).hexdigest()


def read(mail: ParsedMail, settings: Settings) -> Reading:
    words = author_words(mail)
    campaigns = settings.campaigns
    return Reading(
        new_text=words,
        language=detect(words),
        keyword_topic=by_keyword(mail, settings.consultation),
        text_sha256=text_sha256(mail.text),
        campaign=(
            indexed(words, campaigns.num_perm, campaigns.min_words, campaigns.threshold)
            if campaigns.enabled
            else None
        ),
    )
