"""Plural forms by the CLDR rules of each language (Babel): "1 reply" / "2 replies",
"0 réponse" / "2 réponses"; the words come from the templates, the rule from here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from babel import Locale, UnknownLocaleError


@lru_cache(maxsize=32)
def _rule(lang: str) -> Callable[[int], str]:
    try:
        return Locale.parse(lang.replace("-", "_")).plural_form
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en").plural_form


def plural_category(lang: str, n: int) -> str:
    """CLDR category of `n` in `lang`: zero, one, two, few, many or other."""
    return str(_rule(lang)(abs(n)))


def plural(lang: str, n: int, forms: Mapping[str, str]) -> str:
    """The form of `forms` (keyed by category) for `n`; "other" when the category is missing."""
    category = plural_category(lang, n)
    return forms.get(category) or forms.get("other") or next(iter(forms.values()), "")


def counted(lang: str, n: int, **forms: str) -> str:
    """ "3 replies": the number and its word, for templates (`counted(n, one=..., other=...)`)."""
    return f"{n} {plural(lang, n, forms)}"
