"""The road as data: a test builds a road with a subset; batches quarantine only the bad
message; temporary database failures are retried, never quarantined; no import cycles."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from mailbot.app import App
from mailbot.classify import Rule, Verdict
from mailbot.models import Contribution, OutboxMessage, RawMessage
from mailbot.pipeline import process_pending
from mailbot.receive import RawIn, store_raw_batch

PACKAGE = Path(__file__).resolve().parents[2] / "mailbot"


def contribution(n: int, subject: str = "Contribution") -> bytes:
    return (
        f"From: Person {n} <p{n}@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: {subject} {n}\r\nMessage-ID: <road-{n}@example.org>\r\n\r\n"
        f"Text {n}: the working group should publish its papers.\r\n"
    ).encode()


def store(app: App, *raws: bytes) -> None:
    store_raw_batch(app=app, items=[RawIn(raw=raw, source="test") for raw in raws])


def states(app: App) -> dict[str, str]:
    with Session(app.engine) as s:
        return {r.message_id or "": r.state for r in s.exec(select(RawMessage))}


def test_a_road_with_a_subset_of_rules_and_handlers(app: App) -> None:
    """A road built for a test: its own rule table, then no handlers at all."""
    rules = (Rule("everything-invalid", lambda mail, settings: Verdict("invalid", "test rule")),)
    small = replace(app, road=replace(app.road, rules=rules))
    store(small, contribution(1))
    (outcome,) = process_pending(app=small)
    assert (outcome.outcome, outcome.reason) == ("invalid", "test rule")
    bare = replace(app, road=replace(app.road, handlers=()))
    store(bare, contribution(2))
    (outcome,) = process_pending(app=bare)
    assert outcome.outcome == "contribution" and outcome.ref is None  # kept, not filed
    with Session(app.engine) as s:
        assert s.exec(select(Contribution)).all() == []


def test_a_failing_message_in_a_batch_quarantines_only_itself(app: App) -> None:
    def breaks_on_poison(*, app: App, session: Session, filing) -> None:  # type: ignore[no-untyped-def]
        if "poison" in filing.mail.subject:
            raise ValueError("poisoned")

    steps = (*app.road.filing_steps, ("poison", breaks_on_poison))
    app = replace(app, road=replace(app.road, filing_steps=steps))
    store(app, contribution(1), contribution(2, "poison"), contribution(3))
    outcomes = process_pending(app=app)
    assert sorted(o.outcome for o in outcomes) == ["contribution", "contribution", "quarantine"]
    assert states(app) == {
        "road-1@example.org": "done",
        "road-2@example.org": "quarantined",
        "road-3@example.org": "done",
    }
    with Session(app.engine) as s:
        acks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "ack")).all()
        assert len(acks) == 2


def test_a_temporary_database_failure_is_retried_not_quarantined(app: App) -> None:
    calls = {"n": 0}

    def locked_once(*, app: App, session: Session, filing) -> None:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))

    steps = (*app.road.filing_steps, ("locked", locked_once))
    app = replace(app, road=replace(app.road, filing_steps=steps))
    store(app, contribution(1))
    (outcome,) = process_pending(app=app)
    assert outcome.outcome == "contribution" and calls["n"] == 2
    assert states(app) == {"road-1@example.org": "done"}


def test_no_import_cycles_and_no_registries() -> None:
    """Every module's imports (function-level ones included) form no cycle."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text())
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mailbot"):
                deps.update(f"{node.module}.{a.name}" for a in node.names)
                deps.add(node.module or "")
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("mailbot"))
        graph[name] = deps
        text = path.read_text()  # importlib.resources reads package data; that is fine
        assert "import_module" not in text and "__import__" not in text, (
            f"{name} discovers modules by name"
        )
    edges = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return False

    cycles = [(m, d) for m, deps in edges.items() for d in deps if reaches(d, m)]
    assert cycles == []
