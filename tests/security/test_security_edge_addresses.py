"""The edge reads plain MAIL FROM / RCPT TO addresses by regex: the same answer as aiosmtpd's
parser for every argument, and aiosmtpd's parser for anything not plain."""

from __future__ import annotations

import random

import pytest
from aiosmtpd.smtp import SMTP

from mailbot.edge import PLAIN_ADDRESS, BoundedData

PLAIN = [
    "<contrib@consult.example.org>",
    "<A+b.c@Ex-1.ORG> SIZE=1234 BODY=8BITMIME",
    "<o'brien@example.org>\tSMTPUTF8",
    "<a@b>  SIZE=5 (not a comment here)",
]
OTHER = [
    "",
    "<>",
    '<"x y"@example.org>',
    "<a..b@example.org>",
    "<.a@example.org>",
    "<a@[192.0.2.1]>",
    "<@relay.example:a@example.org>",
    "<a@example.>",
    "<a@b_c.example>",
    "<é@example.org>",
    "<a@b> (comment) SIZE=1",
    "a@example.org",
    "<a@b>\x0bSIZE=1",
]


def parsers(limit: int) -> tuple[SMTP, BoundedData]:
    aiosmtpd, ours = SMTP.__new__(SMTP), BoundedData.__new__(BoundedData)
    aiosmtpd.local_part_limit = ours.local_part_limit = limit
    return aiosmtpd, ours


def generated(count: int) -> list[str]:
    rnd = random.Random(11)
    local, domain, rest = "aZ9.!#$%&*+/=?^_`{|}~-", "aZ9.-_", " \t(x)=AZ\x0b\u3000;"

    def part(alphabet: str, most: int) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, most)))

    return [f"<{part(local, 6)}@{part(domain, 6)}>{part(rest, 6)}" for _ in range(count)]


def test_plain_addresses_take_the_regex_and_the_others_do_not() -> None:
    assert all(PLAIN_ADDRESS.fullmatch(arg) for arg in PLAIN)
    assert not any(PLAIN_ADDRESS.fullmatch(arg) for arg in OTHER)


@pytest.mark.parametrize("limit", [0, 64, 3])
def test_the_edge_reads_every_address_as_aiosmtpd_does(limit: int) -> None:
    aiosmtpd, ours = parsers(limit)
    for arg in PLAIN + OTHER + generated(5000):
        assert ours._getaddr(arg) == aiosmtpd._getaddr(arg), arg


def test_a_local_part_over_the_limit_is_refused() -> None:
    _, ours = parsers(3)
    assert ours._getaddr("<abcd@example.org>") == (None, None)
    assert ours._getaddr("<abc@example.org> SIZE=1") == ("abc@example.org", "SIZE=1")
