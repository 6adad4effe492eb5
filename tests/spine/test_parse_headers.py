"""Header decoding that never raises and never leaves what cannot be written back out."""

from __future__ import annotations

import base64

from mailbot.compose import header_safe
from mailbot.headers import decode_words
from mailbot.parse import parse


def ew(charset: str, data: bytes) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def test_multibyte_character_split_across_encoded_words() -> None:
    text = "工作组的组成".encode("gb18030")
    # A sender cut the bytes in the middle of a character, as bulk mailers do.
    assert decode_words(f"{ew('gb2312', text[:5])} {ew('gb2312', text[5:])}") == "工作组的组成"


def test_charset_labels_read_as_their_supersets() -> None:
    assert decode_words(ew("iso-8859-1", "€ café".encode("cp1252"))) == "€ café"
    assert decode_words(ew("gb2312", "屄".encode("gbk"))) == "屄"  # GBK, not GB2312


def test_unknown_charset_and_broken_words_do_not_raise() -> None:
    assert decode_words("=?x-martian?q?abc?=") == "abc"
    assert decode_words("=?utf-8?q?caf=C3?= end") == "caf\ufffd end"
    assert decode_words("[composition] plain") == "[composition] plain"


def test_8bit_utf8_headers_and_latin1_fallback() -> None:
    raw = ("From: Zoë <zoë@example.org>\r\nSubject: Représentation\r\n\r\nbody\r\n").encode() + b""
    mail = parse(raw)
    assert (mail.from_addr, mail.from_name, mail.subject) == (
        "zoë@example.org",
        "Zoë",
        "Représentation",
    )
    latin = parse(b"From: a@example.org\r\nSubject: R\xe9union\r\n\r\nx\r\n")
    assert latin.subject == "Réunion"


def test_header_safe_folds_controls_and_lone_surrogates() -> None:
    assert header_safe("x\r\nBcc: victim@example.org") == "x Bcc: victim@example.org"
    cleaned = header_safe("a\udcb5b")
    assert cleaned.startswith("a") and cleaned.endswith("b")
    cleaned.encode("utf-8")  # would raise on a lone surrogate
