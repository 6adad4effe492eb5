"""Limits at the SMTP/LMTP edge, before any work: DATA in one buffer, connection caps, session time.

aiosmtpd keeps one bytearray per line during DATA, so a message of empty lines costs ~100
bytes per 2 bytes sent (24 MB of CRLF took 2.1 GB). `BoundedData.smtp_DATA` reads the stream
in chunks into ONE buffer, stops keeping bytes past the size limit (552 at the end, as RFC
5321 4.2.5 implies) and undoes dot-stuffing with one C-level replace. `EdgeLimits` counts
connections per peer IP and in total (421 when full) and closes a session after an absolute
time, however slowly its bytes trickle in (aiosmtpd's own timeout restarts on every byte).
`BoundedData._getaddr` reads the plain `<local@domain>` of MAIL FROM / RCPT TO with one regex:
aiosmtpd's parser (the email package's RFC 5322 one, and a class defined per call) took about
0.2 ms an address, a third of the listener's CPU per message; anything else still goes to it.
Its idle timeout is moved on, not re-armed, at each command (`_reset_timeout`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

log = logging.getLogger(__name__)

END = b"\r\n.\r\n"
CHUNK = 64 * 1024
# `<dot-atom@host.name>` then, after spaces, parameters (not a comment: "(" goes to aiosmtpd's
# parser, which drops comments). ASCII only: anything else (quoted local parts, address
# literals, source routes, SMTPUTF8, "<>") is for aiosmtpd's parser, as before.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(
    rf"<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?:[ \t]+([^\s(].*))?",
    re.DOTALL,
)


@dataclass
class EdgeLimits:
    """Shared by every session of one listener."""

    max_connections: int = 200
    max_per_ip: int = 20
    session_seconds: float = 600.0
    open: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.open.values())


class BoundedData(SMTP):
    """aiosmtpd's SMTP with bounded DATA memory, connection caps and a session deadline."""

    def __init__(self, *args: Any, edge: EdgeLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.edge = edge
        self._peer_ip: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._idle_due = 0.0  # loop time at which an idle session is closed (aiosmtpd's timeout)
        self._idle_armed = False  # a timer runs `_idle_check`, at or before `_idle_due`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._peer_ip is None and self.transport is None  # not the STARTTLS re-entry
        super().connection_made(transport)
        if not first:
            return
        peer = transport.get_extra_info("peername")
        ip = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        edge = self.edge
        if edge.total >= edge.max_connections or edge.open[ip] >= edge.max_per_ip:
            log.warning("refusing %s: %d open from it, %d in all", ip, edge.open[ip], edge.total)
            self._refuse(transport)
            return
        self._peer_ip = ip
        edge.open[ip] += 1
        self._deadline = self.loop.call_later(edge.session_seconds, self._session_expired)

    def _refuse(self, transport: asyncio.BaseTransport) -> None:
        if self._handler_coroutine is not None:  # no greeting, no commands: just the 421
            self._handler_coroutine.cancel()
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.7.0 Too many connections, try again later\r\n")
        transport.close()

    def _session_expired(self) -> None:
        log.info("%s: session time limit reached", self._peer_ip)
        if self.transport is not None:
            self.transport.write(b"421 4.4.2 Session time limit reached\r\n")  # type: ignore[attr-defined]
            self.transport.close()

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd's idle timeout (`timeout`, reset at each command), without a new timer per
        command: the timer armed already fires first and looks at `_idle_due` again."""
        due = self.loop.time() + (duration or self._timeout_duration)
        self._idle_due = due
        handle = self._timeout_handle
        if self._idle_armed and handle is not None and not handle.cancelled():
            if handle.when() <= due:
                return
            handle.cancel()
        self._idle_armed = True
        self._timeout_handle = self.loop.call_at(due, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_armed = False
        if self.loop.time() < self._idle_due:  # a command came meanwhile
            self._idle_armed = True
            self._timeout_handle = self.loop.call_at(self._idle_due, self._idle_check)
            return
        self._timeout_cb()

    def connection_lost(self, error: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._peer_ip is not None:
            self.edge.open[self._peer_ip] -= 1
            if self.edge.open[self._peer_ip] <= 0:
                del self.edge.open[self._peer_ip]
            self._peer_ip = None
        super().connection_lost(error)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """(address, parameters) as aiosmtpd's `_getaddr` gives them, plain addresses by regex."""
        match = PLAIN_ADDRESS.fullmatch(arg)
        if match is None:
            return super()._getaddr(arg)
        address = match.group(1)
        if self.local_part_limit and address.rindex("@") > self.local_part_limit:
            return None, None
        return address, match.group(2) or ""

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if content is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)

    async def _read_data(self) -> bytes | None:
        """The message up to CRLF.CRLF, dot-unstuffed; None when over the size limit (the rest
        is read and dropped as it arrives)."""
        limit = self.data_size_limit or 0
        buf = bytearray(b"\r\n")  # a virtual CRLF so a lone "." on the first line ends too
        size, too_much = 0, False
        while self.transport is not None:
            chunk = await self._reader.read(CHUNK)
            if not chunk:
                raise asyncio.CancelledError  # the client went away mid-DATA
            look_from = max(len(buf) - len(END) + 1, 0)
            buf += chunk
            end = buf.find(END, look_from)
            if end >= 0:
                rest = bytes(buf[end + len(END) :])
                del buf[end + 2 :]  # keep the message's final CRLF
                if rest:  # pipelined commands after the dot go back to the reader
                    self._reader._buffer[:0] = rest  # type: ignore[attr-defined]
                break
            size += len(chunk)
            if limit and size > limit:
                too_much = True  # read on to the end, keep only a tail to find it
                del buf[: -(len(END) - 1)]
        if too_much or (limit and len(buf) - 2 > limit):
            return None
        # Dot-stuffing (RFC 5321 4.5.2): every line that starts with "." got one more.
        return bytes(buf).replace(b"\r\n.", b"\r\n")[2:]


class BoundedLMTP(BoundedData, LMTP):
    """The same limits for LMTP (LMTP only changes the greeting verb and per-recipient answers)."""
