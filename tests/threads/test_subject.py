"""Base-subject extraction: RFC 5256 section 2.1, and the consultation's extra prefixes."""

from __future__ import annotations

import pytest

from mailbot.threads import base_subject, base_subject_and_flag, subject_sort_key


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Budget", "Budget"),
        ("Re: Budget", "Budget"),
        ("RE: Re: re:Budget", "Budget"),
        ("Fwd: Budget", "Budget"),
        ("Fw: Budget", "Budget"),
        ("RE : Budget", "Budget"),  # *WSP before the colon is RFC syntax
        ("Re[2]: Budget", "Budget"),
        ("[consultation] Re: Budget", "Budget"),
        ("Re: [consultation] Budget", "Budget"),
        ("Budget (fwd)", "Budget"),
        ("Budget  (fwd) (FWD)  ", "Budget"),
        ("[Fwd: Budget]", "Budget"),
        ("Re: [FWD: c]", "c"),
        ("re: [fwd: [fwd: re: [fwd: babylon]]]", "babylon"),
        ("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", "b"),
        ("[xyz]", "[xyz]"),  # a blob alone is the subject
        ("Re:\tBudget\r\n  for   2025", "Budget for 2025"),
        ("Ad: Re: x", "Ad: Re: x"),  # unknown prefix stops the stripping
        ("Reply: x", "Reply: x"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_rfc5256(subject: str, expected: str) -> None:
    assert base_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("AW: Haushalt", "Haushalt"),  # German
        ("Aw: WG: Haushalt", "Haushalt"),
        ("Antw: Haushalt", "Haushalt"),
        ("TR: Budget participatif", "Budget participatif"),  # French
        ("RE : TR : Budget", "Budget"),
        ("Réf: Budget", "Budget"),
        ("RV: Presupuesto", "Presupuesto"),  # Spanish
        ("RE: RV: [consulta] Presupuesto", "Presupuesto"),
        ("SV: Budsjett", "Budsjett"),  # Nordic
        ("VS: Budsjett", "Budsjett"),
        ("Re(2): Budget", "Budget"),
        ("回复：预算", "预算"),  # full-width colon
    ],
)
def test_extra_prefixes(subject: str, expected: str) -> None:
    assert base_subject(subject, extra_prefixes=True) == expected


def test_extra_prefixes_are_off_by_default() -> None:
    """rfc5256 mode must stay exactly the RFC: AW: is a word there."""
    assert base_subject("AW: Haushalt") == "AW: Haushalt"
    assert base_subject("TR: Budget") == "TR: Budget"


def test_words_that_only_look_like_prefixes_stay() -> None:
    assert base_subject("Trust: a story", extra_prefixes=True) == "Trust: a story"
    assert base_subject("Résumé: Budget", extra_prefixes=True) == "Résumé: Budget"


@pytest.mark.parametrize(
    ("subject", "is_reply"),
    [
        ("Budget", False),
        ("Re: Budget", True),
        ("Budget (fwd)", True),
        ("[Fwd: Budget]", True),
        ("[list] Budget", False),
    ],
)
def test_reply_or_forward_flag(subject: str, is_reply: bool) -> None:
    assert base_subject_and_flag(subject)[1] is is_reply


def test_sort_key_ignores_case_and_accents_decompose() -> None:
    assert subject_sort_key("Re: budget") == subject_sort_key("BUDGET")
    assert subject_sort_key("Ébauche") == subject_sort_key("ébauche")
