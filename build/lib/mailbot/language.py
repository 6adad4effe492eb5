"""Which language to answer in: Content-Language, then a small stop-word vote, then default."""

from __future__ import annotations

import re

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "to",
            "is",
            "in",
            "that",
            "for",
            "it",
            "with",
            "as",
            "on",
            "be",
            "this",
            "are",
            "we",
            "should",
            "not",
            "by",
            "have",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "des",
            "est",
            "une",
            "un",
            "du",
            "que",
            "pour",
            "dans",
            "qui",
            "pas",
            "sur",
            "nous",
            "au",
            "avec",
            "ce",
            "il",
            "sont",
            "doit",
            "être",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "y",
            "de",
            "que",
            "es",
            "en",
            "un",
            "una",
            "por",
            "para",
            "con",
            "no",
            "se",
            "del",
            "al",
            "lo",
            "como",
            "debe",
            "ser",
            "nosotros",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ein",
            "eine",
            "mit",
            "für",
            "auf",
            "wir",
            "sich",
            "den",
            "dem",
            "zu",
        ]
    ),
}
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect(text: str) -> str | None:
    """Best stop-word match among the known languages; None when the text says too little."""
    words = [w.lower() for w in WORD.findall(text[:5000])]
    if len(words) < 3:
        return None
    scores = {lang: sum(w in stops for w in words) for lang, stops in STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    ranked = sorted(scores.values(), reverse=True)
    if ranked[0] < 2 or ranked[0] == ranked[1]:
        return None
    return best


def choose_language(
    *, content_language: str | None, text: str, supported: tuple[str, ...], default: str
) -> str:
    if content_language:
        primary = content_language.split("-")[0].lower()
        if primary in supported:
            return primary
    detected = detect(text)
    return detected if detected in supported else default
