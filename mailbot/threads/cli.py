"""`mailbot threads list|show|rebuild`: the conversations, as the threading step filed them."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlmodel import Session, col, select

from mailbot.cli_common import err, open_app, out
from mailbot.contributions import get_contribution
from mailbot.db import session_scope
from mailbot.models import Contribution
from mailbot.threads.models import Thread
from mailbot.threads.store import rebuild, when

threads_cli = typer.Typer(help="Conversations: threads of contributions.", no_args_is_help=True)


def _emit(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        sys.stdout.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")


def _refs(session: Session, ids: set[int]) -> dict[int, str]:
    refs: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for cid, ref in session.exec(
            select(Contribution.id, Contribution.ref).where(col(Contribution.id).in_(chunk))
        ):
            if cid is not None:
                refs[cid] = ref
    return refs


def list_threads(
    *, session: Session, consultation_id: str, topic: str | None
) -> list[dict[str, Any]]:
    query = select(Thread).where(Thread.consultation_id == consultation_id)
    if topic:
        query = query.where(Thread.topic == topic)
    threads = list(session.exec(query.order_by(col(Thread.id))))
    refs = _refs(session, {t.root_contribution_id for t in threads if t.root_contribution_id})
    return [
        {
            "id": t.id,
            "topic": t.topic,
            "title": t.title,
            "messages": t.messages,
            "participants": t.participants,
            "root": refs.get(t.root_contribution_id) if t.root_contribution_id else None,
            "root_message_id": t.root_message_id,
            "ghost_root": t.root_contribution_id is None,
            "last_activity": t.last_activity.isoformat(),
        }
        for t in threads
    ]


def thread_tree(*, session: Session, thread: Thread) -> list[dict[str, Any]]:
    """The thread's nodes depth first, oldest reply first; a ghost root is a node too."""
    members = {
        c.id: c
        for c in session.exec(select(Contribution).where(Contribution.thread_id == thread.id))
        if c.id is not None
    }
    kids: dict[int | None, list[Contribution]] = {}
    for c in members.values():
        parent = c.parent_id if c.parent_id in members else None
        kids.setdefault(parent, []).append(c)
    for children in kids.values():
        children.sort(key=lambda c: (when(c), c.id or 0))
    nodes: list[dict[str, Any]] = []
    depth0 = 0
    if thread.root_contribution_id is None:
        nodes.append(
            {
                "thread": thread.id,
                "depth": 0,
                "ghost": True,
                "ref": None,
                "message_id": thread.root_message_id,
                "parent": None,
                "parent_message_id": None,
                "topic": None,
                "subject": None,
            }
        )
        depth0 = 1
    stack = [(c, depth0) for c in reversed(kids.get(None, []))]
    while stack:
        c, depth = stack.pop()
        up = members.get(c.parent_id) if c.parent_id is not None else None
        nodes.append(
            {
                "thread": thread.id,
                "depth": depth,
                "ghost": False,
                "ref": c.ref,
                "message_id": c.message_id,
                "parent": up.ref if up else None,
                "parent_message_id": up.message_id
                if up
                else (thread.root_message_id if depth0 else None),
                "topic": c.topic,
                "subject": c.subject,
            }
        )
        stack.extend((k, depth + 1) for k in reversed(kids.get(c.id, [])))
    return nodes


@threads_cli.command("list")
def threads_list(
    topic: Annotated[str | None, typer.Option(help="Only threads of this topic.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List threads: id, topic, title, counts, root (a ghost root shows its Message-ID)."""
    app = open_app()
    with session_scope(app.engine) as session:
        rows = list_threads(session=session, consultation_id=app.consultation.id, topic=topic)
    if as_json:
        _emit(rows)
        return
    table = Table(title="Threads")
    for name in ("id", "topic", "title", "messages", "participants", "root", "last activity"):
        table.add_column(name)
    for r in rows:
        root = r["root"] or f"(ghost) <{r['root_message_id'] or ''}>"
        table.add_row(
            *(
                Text(str(v))
                for v in (
                    r["id"],
                    r["topic"],
                    r["title"],
                    r["messages"],
                    r["participants"],
                    root,
                    r["last_activity"],
                )
            )
        )
    out.print(table)


@threads_cli.command("show")
def threads_show(
    thread_id: Annotated[str, typer.Argument(metavar="ID", help="Thread id, or a ref in it.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per node.")] = False,
) -> None:
    """Show one thread as a tree: each node with its ref, Message-ID and parent."""
    app = open_app()
    with session_scope(app.engine) as session:
        found: Thread | None = None
        if thread_id.isdigit():
            found = session.get(Thread, int(thread_id))
        elif (c := get_contribution(session=session, ref=thread_id)) and c.thread_id:
            found = session.get(Thread, c.thread_id)
        if found is None or found.consultation_id != app.consultation.id:
            err.print(f"no thread {thread_id}", markup=False, highlight=False)
            raise typer.Exit(1)
        nodes = thread_tree(session=session, thread=found)
    if as_json:
        _emit(nodes)
        return
    out.print(
        f"thread {found.id} [{found.topic}] {found.title} — {found.messages} messages, "
        f"{found.participants} participants",
        markup=False,
        highlight=False,
    )
    for n in nodes:
        pad = "  " * n["depth"]
        if n["ghost"]:
            line = f"{pad}(ghost) <{n['message_id'] or 'subject merge'}>"
        else:
            line = f"{pad}{n['ref']} <{n['message_id'] or ''}> [{n['topic']}] {n['subject']}"
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@threads_cli.command("rebuild")
def threads_rebuild() -> None:
    """Thread every contribution again (after changing [threads] mode or window)."""
    app = open_app()
    with session_scope(app.engine) as session:
        count = rebuild(app=app, session=session)
    out.print(f"{count} threads", highlight=False)
