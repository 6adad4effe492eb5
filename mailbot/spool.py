"""The listener's spool (SQLite only): a 250 waits for an fsynced append here, not for the
database's write turn.

SQLite has one writer. While the pipeline files, the listener's group commit waited for the
turn (the pipeline gives it up within `pipeline.MIN_TURN`), so under a burst every 250 waited
about 20 ms and 8 SMTP sessions got some 300 messages a second in. Postfix answers 250 once
its queue file is on disk; so does the listener (groupcommit.GroupCommitter): a group of
deliveries is appended to a spool file and flushed to disk in one `fdatasync`, the 250s go
out, and the group is then stored in the database (`store_raw_batch`, in the write turn, as
before) and released here. A segment whose groups are all stored is emptied, or deleted once full.

A crash in between loses nothing: before the listener opens, `recover` hands back what the
spool still holds, and storing it again is idempotent (the content hash), so a group stored
before the crash is not stored twice. A record cut short by the crash (length or checksum
wrong) was never answered 250: its fdatasync had not returned.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import logging
import os
import pickle
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

HEAD = 4 + 32  # record: payload length (4 bytes, big-endian), SHA-256 of the payload, payload
ROTATE = 16 * 2**20  # a segment takes no more groups past this size (bytes)


@dataclass
class Segment:
    path: Path
    fd: int
    size: int = 0
    pending: int = 0  # groups appended, not yet stored


Item = TypeVar("Item")


@dataclass(frozen=True)
class Group(Generic[Item]):
    """A group appended to the spool (in `segment`), to be stored in the database next."""

    items: list[Item]
    hashes: list[str]  # the items' content hashes
    segment: Segment


@dataclass
class Spool:
    """Segment files `<pid>-<tag>-<n>.spool` in `directory`, each locked while written."""

    directory: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _current: Segment | None = None
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _tag: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def append(self, records: Sequence[dict[str, Any]]) -> Segment:
        """Write the group and flush it to disk; the token to `release` once it is stored."""
        # pickle: the spool is the bot's own, in its 0700 data dir, as the database file is.
        payload = pickle.dumps(list(records), protocol=5)
        data = len(payload).to_bytes(4, "big") + hashlib.sha256(payload).digest() + payload
        with self._lock:
            segment = self._current or self._open()
            os.write(segment.fd, data)
            os.fdatasync(segment.fd)  # the 250s wait for this, and for nothing else
            segment.size += len(data)
            segment.pending += 1
            if segment.size >= ROTATE:
                self._current = None  # the next group starts a new segment
            return segment

    def release(self, segment: Segment) -> None:
        """The group is stored: a segment with nothing left to store is emptied (the one being
        written) or deleted. Neither waits for the disk: what a power cut brings back was
        stored already, and storing is idempotent; the next fdatasync makes it final."""
        with self._lock:
            segment.pending -= 1
            if segment.pending > 0:
                return
            if segment is self._current:
                os.ftruncate(segment.fd, 0)
                segment.size = 0
            else:
                segment.path.unlink(missing_ok=True)
                os.close(segment.fd)

    def close(self) -> None:
        """Stop writing: the current segment is closed, and deleted if nothing in it waits."""
        with self._lock:
            segment, self._current = self._current, None
            if segment is not None:
                if segment.pending == 0:
                    segment.path.unlink(missing_ok=True)
                os.close(segment.fd)

    def _open(self) -> Segment:
        # Unique per Spool, not only per process: a bot restarted in the same process (tests)
        # must not append to the segment of the one before.
        path = self.directory / f"{os.getpid()}-{self._tag}-{next(self._numbers)}.spool"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # `recover` in another process leaves it alone
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the file's name is on disk before any 250 depends on it
        finally:
            os.close(directory)
        self._current = Segment(path=path, fd=fd)
        return self._current

    def recover(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """What a process that stopped before storing it left here, oldest segment first
        (delete each with `forget` once stored). Segments a live process holds are skipped."""
        found = []
        for path in sorted(self.directory.glob("*.spool"), key=_order):
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            with os.fdopen(fd, "rb") as file:
                found.append((path, list(_records(file.read(), path))))
        return found

    @staticmethod
    def forget(path: Path) -> None:
        path.unlink(missing_ok=True)


def _records(data: bytes, path: Path) -> Iterator[dict[str, Any]]:
    offset = 0
    while offset + HEAD <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        payload = data[offset + HEAD : offset + HEAD + size]
        if (
            len(payload) < size
            or hashlib.sha256(payload).digest() != data[offset + 4 : offset + HEAD]
        ):
            log.warning("%s: a group cut short at byte %d (never answered 250)", path, offset)
            return
        yield from pickle.loads(payload)
        offset += HEAD + size


def _order(path: Path) -> tuple[float, str]:
    return (path.stat().st_mtime, path.name)


def spool_dir(data_dir: Path) -> Path:
    return data_dir / "spool"


def waiting(data_dir: Path) -> int:
    """Bytes in the spool not yet stored in the database (0: nothing waits)."""
    total = 0
    for path in spool_dir(data_dir).glob("*.spool"):
        with contextlib.suppress(FileNotFoundError):  # stored and deleted meanwhile
            total += path.stat().st_size
    return total
