"""A list that rewrote From for DMARC: the author is taken back, and nothing else is."""

from __future__ import annotations

from mailbot.config import Settings
from mailbot.conversation.lists import original_author
from mailbot.parse import ParsedMail, parse


def mail(headers: str) -> ParsedMail:
    raw = f"{headers}Message-ID: <m@x>\r\nSubject: Seats\r\n\r\nFour seats.\r\n".encode()
    return parse(raw)


MAILMAN = (
    "From: Ana Silva via Caucus <caucus@lists.example.org>\r\n"
    "Reply-To: Ana Silva <ana@example.org>\r\n"
    "List-Id: <caucus.lists.example.org>\r\nList-Post: <mailto:caucus@lists.example.org>\r\n"
)


def test_mailman_munge_from_gives_the_reply_to_back(settings: Settings) -> None:
    got = original_author(mail(MAILMAN), settings)
    assert (got.from_addr, got.from_name, got.list_from) == (
        "ana@example.org",
        "Ana Silva",
        "caucus@lists.example.org",
    )


def test_google_groups_x_original_from_is_believed_first(settings: Settings) -> None:
    got = original_author(
        mail(
            "From: 'Kofi Mensah' via WG Group <wg-group@googlegroups.com>\r\n"
            "X-Original-From: Kofi Mensah <kofi@example.gh>\r\n"
            "Reply-To: wg-group@googlegroups.com\r\n"
            "Mailing-list: list wg-group@googlegroups.com;"
            " contact wg-group+owners@googlegroups.com\r\n"
            "List-Post: <https://groups.google.com/group/wg-group/post>, "
            "<mailto:wg-group@googlegroups.com>\r\n"
        ),
        settings,
    )
    assert (got.from_addr, got.from_name) == ("kofi@example.gh", "Kofi Mensah")


def test_point_to_list_puts_the_author_in_cc_named_as_in_from(settings: Settings) -> None:
    headers = (
        "From: Ana Silva via Caucus <caucus@lists.example.org>\r\n"
        "Reply-To: caucus@lists.example.org\r\n"
        "Cc: Ana Silva <ana@example.org>, Bob <bob@example.org>\r\n"
        "List-Id: <caucus.lists.example.org>\r\nList-Post: <mailto:caucus@lists.example.org>\r\n"
    )
    assert original_author(mail(headers), settings).from_addr == "ana@example.org"
    other = headers.replace("Cc: Ana Silva <ana@example.org>, ", "Cc: ")
    assert original_author(mail(other), settings).from_addr == "caucus@lists.example.org"


def test_nothing_changes_without_every_sign_of_a_rewrite(settings: Settings) -> None:
    # Not from the list's own address: a person whose name happens to say "via".
    person = MAILMAN.replace("caucus@lists.example.org>\r\nReply", "ana@phone.example>\r\nReply")
    assert original_author(mail(person), settings).from_addr == "ana@phone.example"
    # No list headers at all: a forger cannot borrow someone's name through Reply-To.
    forged = "From: Ana via Caucus <caucus@lists.example.org>\r\nReply-To: chair@example.org\r\n"
    assert original_author(mail(forged), settings).from_addr == "caucus@lists.example.org"
    # A list that did not rewrite From.
    plain = MAILMAN.replace("Ana Silva via Caucus <caucus@", "Ana Silva <ana@").replace(
        "ana@lists.example.org", "ana@example.org"
    )
    assert original_author(mail(plain), settings).list_from is None
