"""Base-subject extraction (RFC 5256 section 2.1) and the i;unicode-casemap key.

The base subject is what is left of a Subject once reply and forward markers,
list tags and trailers are removed: "Re: [list] Fwd: Budget (fwd)" -> "Budget".
Threading uses it to join replies whose headers were stripped, and IMAP SORT
(SUBJECT) uses it to order messages. The steps follow the RFC one by one, in
the same order as Dovecot's imap-base-subject.c, because we check our answers
against Dovecot's.
"""

from __future__ import annotations

import re
import unicodedata

# RFC 5256 (1): tabs and continuations become spaces, runs collapse to one.
# Only these four characters: the RFC speaks of WSP and folding, not Unicode.
_WSP_RUN = re.compile(r"[ \t\r\n]+")

# subj-blob = "[" *BLOBCHAR "]" *WSP; after (1) "*WSP" is at most one space.
_BLOB = r"\[[^\[\]]*\] ?"
_BLOB_RE = re.compile(_BLOB)

# subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":", after any blobs.
# "RE :" (space before the colon) is already RFC syntax.
_RFC_LEADER = re.compile(rf"(?:{_BLOB})*(?:re|fwd?) ?(?:{_BLOB})?:", re.IGNORECASE)

# Consultation mode: what mail clients in the consultation's languages put in
# front of replies and forwards. Longest spellings first is not needed (the
# regex backtracks), but each must be a whole word before the colon.
_EXTRA_WORDS = (
    "re", "fwd?",  # RFC
    "aw", "antw", "antwort", "wg",  # German: Antwort, Weitergeleitet
    "tr", "r[ée]f", "ref",  # French: transféré, référence
    "rv", "res", "enc",  # Spanish reenviado, Portuguese resposta/encaminhado
    "sv", "vs", "vb", "vl",  # Nordic: svar, videresendt, vidarebefordrat
    "odp", "pd", "rif", "ynt",  # Polish, Italian riferimento, Turkish yanıt
    "回复", "回覆", "答复", "转发", "轉寄",  # Chinese
)  # fmt: skip
_EXTRA_LEADER = re.compile(
    rf"(?:{_BLOB})*(?:{'|'.join(_EXTRA_WORDS)}) ?"
    # Outlook and others count replies: "Re(2):", "Re^2:", "AW[3]:".
    rf"(?:\(\d+\) ?|\^\d+ ?)?(?:{_BLOB})?[:：]",  # full-width colon too
    re.IGNORECASE,
)

# A subject needs work only if it has one of these; most do not (fast path).
_INTERESTING = re.compile(r"[\[(:：\t\r\n]|^ | $|  ")


def base_subject_and_flag(subject: str, *, extra_prefixes: bool = False) -> tuple[str, bool]:
    """The base subject and whether a reply/forward marker was removed.

    The flag is RFC 5256's "is a reply or forward" test used when merging
    threads by subject (step 5): a "Re:"/"Fwd:" leader, a "(fwd)" trailer or
    a "[fwd: ...]" wrapper.
    """
    if not _INTERESTING.search(subject):
        # Nothing to remove (every leader ends in a colon), and (1) would
        # change nothing either: most subjects in a big mailbox take this road.
        return subject, False
    text = _WSP_RUN.sub(" ", subject)
    leader = _EXTRA_LEADER if extra_prefixes else _RFC_LEADER
    is_reply = False
    while True:
        # (2) Remove trailing "(fwd)" and spaces, repeatedly.
        while text:
            if text[-1] == " ":
                text = text[:-1]
            elif text[-5:].lower() == "(fwd)":
                text = text[:-5]
                is_reply = True
            else:
                break
        # (3)-(5) Remove leaders, and blobs that do not leave the subject empty.
        found = True
        while found:
            found = False
            if text.startswith(" "):
                text = text[1:]
                found = True
            match = leader.match(text)
            if match:
                text = text[match.end() :]
                is_reply = found = True
            match = _BLOB_RE.match(text)
            if match and match.end() < len(text):
                text = text[match.end() :]
                found = True
        # (6) "[fwd: subject]" -> "subject", then again from (2).
        if text[:5].lower() == "[fwd:" and text.endswith("]"):
            text = text[5:-1]
            is_reply = True
            continue
        return text, is_reply


def base_subject(subject: str, *, extra_prefixes: bool = False) -> str:
    """RFC 5256 base subject of a decoded Subject; case is kept.

    With ``extra_prefixes`` also remove the reply and forward markers of
    other languages (``AW:``, ``TR:``, ``SV:``, ``Réf:``, ``RV:``, ``Antw:``,
    ``WG:``, ...), as consultation mode does.
    """
    return base_subject_and_flag(subject, extra_prefixes=extra_prefixes)[0]


def casemap(text: str) -> str:
    """A key that compares like RFC 4790's i;unicode-casemap (RFC 5256 I18N).

    The comparator is titlecase plus compatibility decomposition; upper case
    differs from titlecase only for a few digraphs, which do not matter here.
    """
    if text.isascii():
        return text.upper()
    return unicodedata.normalize("NFKD", text).upper()


def subject_sort_key(subject: str, *, extra_prefixes: bool = False) -> str:
    """The key IMAP ``SORT (SUBJECT)`` orders by; ties go by sequence number."""
    return casemap(base_subject(subject, extra_prefixes=extra_prefixes))
