"""The edge's cheaper paths answer as aiosmtpd does: plain MAIL FROM / RCPT TO addresses read
by regex (aiosmtpd's parser for anything not plain), and the idle timeout moved on at each
command rather than re-armed."""

from __future__ import annotations

import asyncio
import random

import pytest
from aiosmtpd.smtp import SMTP

from mailbot.edge import PLAIN_ADDRESS, BoundedData, EdgeLimits

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


class Noop:
    """A handler with no hooks: NOOP and EHLO are answered by aiosmtpd itself."""


async def idle_session(timeout: float, commands: int, pause: float) -> tuple[list[bytes], bytes]:
    """The answers to `commands` NOOPs sent `pause` s apart, then what a silent session reads."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: BoundedData(Noop(), edge=EdgeLimits(), timeout=timeout), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        answers = [await reader.readline()]
        for _ in range(commands):
            writer.write(b"NOOP\r\n")
            answers.append(await reader.readline())
            await asyncio.sleep(pause)
        # Silent now: the server closes the session (EOF); 30 s is only a bound on the test.
        rest = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()
    return answers, rest


def test_a_session_with_commands_outlives_the_idle_timeout_and_a_silent_one_is_closed() -> None:
    # 8 commands 0.2 s apart: 1.6 s of a session whose idle timeout is 0.5 s.
    answers, rest = asyncio.run(idle_session(timeout=0.5, commands=8, pause=0.2))
    assert answers[0].startswith(b"220")
    assert all(answer.startswith(b"250") for answer in answers[1:]), answers
    assert rest == b""
