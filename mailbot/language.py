"""Which language a text is in, and which one to answer in.

The text's language comes from a packaged model, py3langid (97 languages; its model ships in
the wheel: nothing is downloaded at run time), chosen over lingua with `bench/language_id.py`
on the 22-language set in tests/campaigns: the same accuracy (22/22 long texts, 19/22 short
ones, and no wrong guess on those once the fallbacks below apply), 0.18 ms a text against
0.8 ms for lingua's low-accuracy mode and 18 ms (and 1.1 GB) for its high one; its one
dependency, numpy, is already there for datasketch. The model reads the first SAMPLE_CHARS of
the text's words (its cost is linear in what it reads); the same sample is classified once
(campaign copies of one letter come by the hundred). A short text says too little: it falls
back to the Content-Language header, then the participant's LANGUAGE, then the default.
Answers go out in a language the consultation has templates for (`reply_language`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Fewer weighted letters than this is a short text (CJK characters weigh 3: one carries
# about a word). "Muchas gracias" is short; a 20-word sentence is not.
MIN_LETTERS = 25
MIN_CONFIDENCE = 0.5  # below this, the model is guessing: fall back as for a short text
READ_CHARS = 5000  # the start of a long text is enough, and bounds the time
# The words read by the model, whose cost is linear in them (~0.2 ms per 1,000 characters). On
# the corpus's 385 texts with more than 300, the first 1,000 give the language the first 5,000
# give for all but one (a Russian spam opening with 1,000 characters of tracking URLs); the
# first 600 differ on 6, all spam or bounces.
SAMPLE_CHARS = 1000
NO_LANGUAGE = frozenset({"zxx", "und"})  # the model's "no linguistic content" / undetermined
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
WIDE_FROM = "\u1100"  # no character below U+1100 is East Asian wide or full-width


_LOADING = threading.Lock()  # the warm-up thread and the first message load it once


@lru_cache(maxsize=1)
def _loaded() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _identifier() -> Any:
    """py3langid's model, loaded once per process (about 0.7 s: 68 MB unpacked from xz)."""
    with _LOADING:
        return _loaded()


def warm() -> None:
    """Load the model now (the pipeline's process starts this in a thread, at start)."""
    _identifier()


def _weight(text: str, enough: int | None = None) -> int:
    """Letters in `text`, a wide (CJK) one counting 3; counting stops once `enough` is reached
    (a long text is long after its first few words: no need to look at every character)."""
    letters = 0
    for char in text:
        if char.isalpha():
            wide = char >= WIDE_FROM and unicodedata.east_asian_width(char) in ("W", "F")
            letters += 3 if wide else 1
            if enough is not None and letters >= enough:
                break
    return letters


def is_short(text: str) -> bool:
    return _weight(text[:READ_CHARS], enough=MIN_LETTERS) < MIN_LETTERS


def sample(text: str) -> str:
    """The words (letters only: no numbers, no punctuation) of the start of `text` that the
    model reads: at most SAMPLE_CHARS, cut between words unless one word is longer (CJK)."""
    head = " ".join(WORD.findall(text, 0, READ_CHARS))
    if len(head) <= SAMPLE_CHARS:
        return head
    return head[:SAMPLE_CHARS].rpartition(" ")[0] or head[:SAMPLE_CHARS]


def detect(text: str) -> str | None:
    """The language code (ISO 639-1) of `text`, or None when it is too short or unclear."""
    head = sample(text)
    if is_short(head):
        return None
    return _classify(head)


@lru_cache(maxsize=1024)
def _classify(head: str) -> str | None:
    code, confidence = _identifier().classify(head)
    if code in NO_LANGUAGE or confidence < MIN_CONFIDENCE:
        return None
    return str(code)


def primary(tag: str | None) -> str | None:
    """'pt-BR' -> 'pt'; None for no tag."""
    code = (tag or "").split(",")[0].split("-")[0].strip().lower()
    return code or None


def text_language(
    *,
    detected: str | None,
    content_language: str | None,
    default: str,
    participant_language: str | None = None,
) -> str:
    """The language a contribution is written in (any language the model knows): the
    model's on a long text (`detected`: `detect` of the author's words, worked out before
    the write turn, reading.py), else Content-Language, else the participant's LANGUAGE,
    else the default."""
    return detected or primary(content_language) or participant_language or default


def reply_language(
    *, supported: Iterable[str], default: str, preferred: Iterable[str | None]
) -> str:
    """The first of `preferred` the consultation has templates for, else the default."""
    have = set(supported)
    return next((code for code in preferred if code and code in have), default)


def choose_language(
    *, content_language: str | None, text: str, supported: tuple[str, ...], default: str
) -> str:
    """The answer language for a message from someone who chose none: Content-Language,
    then the text's language, when the consultation has templates for it."""
    return reply_language(
        supported=supported,
        default=default,
        preferred=(primary(content_language), detect(text)),
    )
