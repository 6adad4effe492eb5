"""Limits on incoming mail end in quarantine with a clear reason; `mailbot quarantine list`
and `mailbot replay` bring a message back once the cause is fixed."""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailbot.boot import make_app
from mailbot.cli import cli
from mailbot.config import PROJECT_DIR
from mailbot.hostile.config import Limits
from mailbot.hostile.limits import LimitExceeded, check_limits
from mailbot.hostile.quarantine import NotQuarantined, replay
from mailbot.models import Contribution, RawMessage
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch
from tests.support import make_settings

HEAD = (
    "From: Ana <ana@example.org>\r\nTo: contrib@consult.example.org\r\n"
    "Subject: {subject}\r\nMessage-ID: <{mid}@example.org>\r\nMIME-Version: 1.0\r\n"
)


def nested(depth: int) -> bytes:
    """A MIME bomb: `depth` multiparts inside each other."""
    body = "Content-Type: text/plain\r\n\r\nThe innermost text.\r\n"
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'
            f"--b{level}\r\n{body}--b{level}--\r\n"
        )
    return (HEAD.format(subject="deep", mid=f"deep-{depth}") + body).encode()


def many_parts(n: int) -> bytes:
    parts = "".join(f"--B\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(n))
    return (
        HEAD.format(subject="parts", mid=f"parts-{n}")
        + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + parts
        + "--B--\r\n"
    ).encode()


def attachment(payload: bytes, name: str, ctype: str) -> bytes:
    data = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    return (
        HEAD.format(subject="file", mid=f"file-{name}")
        + 'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + "--B\r\nContent-Type: text/plain\r\n\r\nThe report on transparency is attached.\r\n"
        + f'--B\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
        + f"Content-Transfer-Encoding: base64\r\n\r\n{data}--B--\r\n"
    ).encode()


LIMITS = Limits(
    max_header_bytes=4096,
    max_header_count=50,
    max_mime_depth=8,
    max_parts=40,
    max_attachment_bytes=100_000,
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (nested(50), "MIME nesting deeper than 8 levels"),
        (many_parts(100), "more than 40 MIME parts"),
        (
            (HEAD.format(subject="x" * 5000, mid="long") + "\r\nhi\r\n").encode(),
            "header block is 5",
        ),
        (
            (
                "".join(f"X-H{i}: v\r\n" for i in range(60))
                + HEAD.format(subject="h", mid="h")
                + "\r\nhi\r\n"
            ).encode(),
            "header fields, limit 50",
        ),
        (
            attachment(b"\0" * 200_000, "big.bin", "application/octet-stream"),
            "application/octet-stream part of about 200",
        ),
    ],
)
def test_each_limit_names_itself(raw: bytes, reason: str) -> None:
    with pytest.raises(LimitExceeded, match=reason.replace("(", r"\(")):
        check_limits(raw, LIMITS)


def test_within_limits_passes() -> None:
    check_limits(nested(7), LIMITS)
    check_limits(many_parts(30), LIMITS)


def test_a_10000_deep_mime_bomb_is_quarantined_without_a_crash(app) -> None:  # type: ignore[no-untyped-def]
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=nested(10_000), source="test")])
    outcome = process_one(app=app, raw_id=stored.raw_id)
    assert outcome.outcome == "quarantine"
    assert outcome.reason == "LimitExceeded: MIME nesting deeper than 20 levels"


def test_compressed_attachment_is_kept_compressed(app) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip.compress(b"\0" * 50_000_000)  # 50 MB of zeros in about 50 KB
    raw = attachment(bomb, "bomb.gz", "application/gzip")
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    assert process_one(app=app, raw_id=stored.raw_id).outcome == "contribution"
    with Session(app.engine) as s:
        (c,) = s.exec(select(Contribution)).all()
    assert c.attachments[0]["name"] == "bomb.gz" and c.attachments[0]["size"] == len(bomb)


def _env(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "MAILBOT_CONFIG": str(PROJECT_DIR / "config" / "mailbot.toml"),
        "MAILBOT_DATABASE_URL": str(app.settings.server.db_url),
        "MAILBOT_DATA_DIR": str(app.settings.server.data_dir),
    }


def test_quarantine_list_and_replay_after_raising_the_limit(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raws = [many_parts(600), many_parts(700), nested(3)]
    stored = store_raw_batch(app=app, items=[RawIn(raw=r, source="test") for r in raws])
    outcomes = [process_one(app=app, raw_id=s.raw_id).outcome for s in stored]
    assert outcomes == ["quarantine", "quarantine", "contribution"]
    runner = CliRunner()
    env = _env(app) | {"MAILBOT_DATABASE_URL": app.engine.url.render_as_string(hide_password=False)}
    listed = runner.invoke(cli, ["quarantine", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["id"] for r in rows] == [stored[0].raw_id, stored[1].raw_id]
    assert rows[0]["reason"] == "LimitExceeded: more than 500 MIME parts"
    # Replaying with the same limits: still quarantined, exit 1, new reason kept.
    again = runner.invoke(cli, ["replay", str(stored[0].raw_id)], env=env)
    assert again.exit_code == 1 and "quarantine" in again.output
    # A finished message is never replayed (it would be filed twice).
    with pytest.raises(NotQuarantined):
        replay(app=app, raw_id=stored[2].raw_id)
    # The operator raises the limit: replay --all files both.
    env["MAILBOT_LIMITS__MAX_PARTS"] = "1000"
    done = runner.invoke(cli, ["replay", "--all", "--json"], env=env)
    assert done.exit_code == 0, done.output
    results = [json.loads(line) for line in done.output.splitlines()]
    assert [r["outcome"] for r in results] == ["contribution", "contribution"]
    with Session(app.engine) as s:
        assert all(r.state == "done" for r in s.exec(select(RawMessage)))
        assert len(s.exec(select(Contribution)).all()) == 3
    listed = runner.invoke(cli, ["quarantine", "list", "--json"], env=env)
    assert listed.output.strip() == ""


def test_a_failing_step_quarantines_and_replay_recovers(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Any exception in a step (here a filing step that breaks) -> quarantine, replayable."""
    calls = {"n": 0}

    def breaks_once(*, app, session, filing) -> None:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")

    # A road with one more filing step, built for this test only.
    road = replace(app.road, filing_steps=(*app.road.filing_steps, ("breaks", breaks_once)))
    app = replace(app, road=road)
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=nested(2), source="test")])
    first = process_one(app=app, raw_id=stored.raw_id)
    assert first.outcome == "quarantine" and first.reason == "RuntimeError: disk on fire"
    with Session(app.engine) as s:
        assert s.exec(select(Contribution)).all() == []  # rolled back
    assert replay(app=app, raw_id=stored.raw_id).outcome == "contribution"


def test_limits_are_configurable(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(database_url, tmp_path / "var")
    assert settings.limits.per_recipient == 5 and settings.limits.max_mime_depth == 20
    app = make_app(settings.model_copy(update={"limits": Limits(max_mime_depth=2)}))
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=nested(3), source="test")])
    assert process_one(app=app, raw_id=stored.raw_id).outcome == "quarantine"
    app.engine.dispose()
