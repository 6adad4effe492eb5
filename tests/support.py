"""Test helpers shared by every test module: corpus access, a capture relay, a bot thread."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mailbot.app import App
from mailbot.config import PROJECT_DIR, Settings, load_settings

PG_URL = os.environ.get(
    "MAILBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKEND = os.environ.get("MAILBOT_TEST_DATABASE", "sqlite")
# A secret `mailbot run` accepts (the sample config's is refused, as is one under 32 bytes).
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
CORPUS = Path(os.environ.get("MAILBOT_CORPUS", PROJECT_DIR.parent / "shared" / "corpus"))
# mail-parser names an unnamed part at random (`abcdefghij.txt`): not a difference between runs.
RANDOM_NAME = re.compile(r"^[a-z]{10}\.(?:txt|rtf)$")


def contribution_mail(n: int, *, tag: str, extra: str = "") -> bytes:
    """A short contribution from a sender of its own (p<n>@example.org), Message-ID
    `<tag-n@example.org>`; `extra`: more header lines, each ending in CRLF."""
    return (
        f"From: Person {n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: Idea {n}\r\nMessage-ID: <{tag}-{n}@example.org>\r\n{extra}\r\n"
        f"Proposal {n}: the working group should give every region two seats.\r\n"
    ).encode()


def file_bytes(path: Path) -> bytes:
    """A published file's content; the search index's files are gzip: read unpacked."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def file_text(path: Path) -> str:
    return file_bytes(path).decode("utf-8", "replace")


def corpus_dir(*parts: str) -> Path:
    """A folder of ../shared/corpus; skip when absent, but fail in CI (never silently pass)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"corpus folder {path} is missing in CI")
        pytest.skip(f"corpus folder {path} is absent (set MAILBOT_CORPUS)")
    return path


def make_settings(database_url: str, data_dir: Path, **server: Any) -> Settings:
    overrides: dict[str, Any] = {
        "server": {
            "database_url": database_url,
            "data_dir": str(data_dir),
            "listen": "127.0.0.1:0",
            "secret": TEST_SECRET,
            **server,
        }
    }
    return load_settings(PROJECT_DIR / "config" / "mailbot.toml", environ={}, overrides=overrides)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class CaptureRelay:
    """A real SMTP server on loopback that keeps what it receives (an outgoing relay)."""

    port: int = 0
    messages: list[Captured] = field(default_factory=list)
    controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        relay = self

        class Keep:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                relay.messages.append(
                    Captured(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
                )
                return "250 OK kept"

        self.port = self.port or free_port()
        self.controller = Controller(
            Keep(), hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class BotThread:
    """`mailbot.run.serve` in a background thread, as `mailbot run` would run it."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.ready = threading.Event()
        self.runtime: Any = None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        from mailbot.run import serve

        async def main() -> None:
            self.stop_event = asyncio.Event()

            def on_ready(rt: Any) -> None:
                self.runtime = rt
                self.ready.set()

            await serve(self.app, stop=self.stop_event, ready=on_ready)

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:  # surfaced by start()/stop()
            self.error = exc
            self.ready.set()

    @property
    def port(self) -> int:
        return int(self.runtime.ports["smtp"])

    def start(self) -> BotThread:
        self.thread.start()
        assert self.ready.wait(20), "bot did not start"
        if self.error:
            raise self.error
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(40)
        self.app.engine.dispose()
        if self.error:
            raise self.error


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll until predicate() is truthy; return its value (tests never sleep blindly)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
