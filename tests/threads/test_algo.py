"""The threading engine on small hand-made cases and on shuffled generated mailboxes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.threads import (
    Mode,
    ThreadInput,
    ThreadNode,
    ThreadResult,
    format_imap_thread,
    thread,
)
from tests.threads.generate import conversations

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def msg(
    key: int,
    mid: str | None,
    *refs: str,
    subject: str = "",
    minutes: int | None = None,
    topic: str | None = None,
    irt: str | None = None,
) -> ThreadInput:
    date = T0 + timedelta(minutes=key if minutes is None else minutes)
    return ThreadInput(key, mid, irt, tuple(refs), subject, date, topic)


def imap(messages: list[ThreadInput], mode: Mode = "rfc5256") -> str:
    return format_imap_thread(thread(messages, mode=mode))


def test_reply_to_unseen_message_hangs_under_a_ghost() -> None:
    result = thread([msg(1, "b", "a"), msg(2, "c", "a")], mode="references")
    (tree,) = result.threads
    assert tree.is_ghost and tree.message_id == "a"
    assert [c.key for c in tree.children] == [1, 2]
    assert result.parent == {1: None, 2: None}
    assert format_imap_thread(result) == "((1)(2))"


def test_single_reply_to_a_ghost_is_promoted_in_rfc5256() -> None:
    assert imap([msg(1, "b", "x", "a")]) == "(1)"
    assert thread([msg(1, "b", "x", "a")], mode="rfc5256").threads[0].key == 1


def test_ghosts_below_the_root_are_spliced_out() -> None:
    # a -> (missing x) -> c: c hangs directly under a.
    result = thread([msg(1, "a"), msg(2, "c", "a", "x")], mode="rfc5256")
    assert result.parent[2] == 1
    assert format_imap_thread(result) == "(1 2)"


def test_parent_arriving_late_relinks_its_replies() -> None:
    early = [msg(1, "a"), msg(2, "b", "a"), msg(3, "c", "a", "b")]
    late = [early[2], early[1], early[0]]
    modes: tuple[Mode, ...] = ("references", "rfc5256", "consultation")
    for mode in modes:
        assert thread(early, mode=mode).threads == thread(late, mode=mode).threads
    assert thread(late, mode="rfc5256").parent == {1: None, 2: 1, 3: 2}


def test_reference_loop_is_broken() -> None:
    result = thread([msg(1, "a", "b"), msg(2, "b", "a")], mode="references")
    assert len(result.threads) == 1
    nodes = result.threads[0].walk()
    assert {n.key for n in nodes if n.key is not None} == {1, 2}
    assert len(nodes) == 2  # each once: no cycle


def test_message_referencing_itself() -> None:
    # A parent of itself is a loop: no link. When its own id is the last
    # reference, the message is a root, as Dovecot answers too.
    result = thread([msg(1, "a", "a"), msg(2, "c", "a", "c")], mode="references")
    assert result.parent == {1: None, 2: None}
    assert format_imap_thread(result) == "(1)(2)"


def test_duplicate_message_id_keeps_the_first() -> None:
    # Like imaptest thread7: the second "b" gets a fresh id; "c" follows the first.
    msgs = [msg(1, "a"), msg(2, "b", "a"), msg(3, "c", "b"), msg(4, "b", "a")]
    assert imap(msgs) == "(1 (2 3)(4))"
    assert thread(msgs, mode="rfc5256").parent == {1: None, 2: 1, 3: 2, 4: 1}


def test_messages_without_message_id() -> None:
    msgs = [msg(1, None, "a"), msg(2, None, "a"), msg(3, None)]
    assert imap(msgs, "references") == "((1)(2))(3)"


def test_own_references_beat_someone_elses() -> None:
    # imaptest thread.mbox: c's own header says b; b's says a -> c -> b.
    msgs = [
        msg(1, "a", minutes=120),
        msg(2, "b", "a", "c", minutes=0),
        msg(3, "c", "b", minutes=60),
    ]
    assert imap(msgs) == "(3 2)(1)"


def test_subject_merging_in_rfc5256_only() -> None:
    msgs = [
        msg(1, "a", subject="Budget"),
        msg(2, "b", subject="Re: Budget"),
        msg(3, "c", subject="budget"),
    ]
    assert imap(msgs, "references") == "(1)(2)(3)"
    # Two originals become siblings under a ghost; the reply joins the first.
    assert imap(msgs) == "((1 2)(3))"


def test_consultation_merges_other_languages_only_in_that_mode() -> None:
    msgs = [msg(1, "a", subject="Budget", topic="t"), msg(2, "b", subject="AW: Budget", topic="t")]
    assert imap(msgs) == "(1)(2)"
    assert imap(msgs, "consultation") == "(1 2)"


def test_consultation_merges_only_within_a_topic() -> None:
    msgs = [
        msg(1, "a", subject="Budget", topic="housing"),
        msg(2, "b", subject="Re: Budget", topic="transport"),
        msg(3, "c", subject="TR: Budget", topic="housing"),
    ]
    result = thread(msgs, mode="consultation")
    assert result.parent == {1: None, 2: None, 3: 1}


def test_consultation_window() -> None:
    day = 24 * 60
    msgs = [
        msg(1, "a", subject="Budget", minutes=0),
        msg(2, "b", "a", subject="Re: Budget", minutes=5 * day),  # a header reply
        msg(3, "c", subject="Re: Budget", minutes=9 * day),  # 4 days after b
        msg(4, "d", subject="Re: Budget", minutes=30 * day),  # 21 days after c
    ]
    result = thread(msgs, mode="consultation", window=timedelta(days=7))
    assert result.parent == {1: None, 2: 1, 3: 1, 4: None}
    unlimited = thread(msgs, mode="consultation")
    assert unlimited.parent[4] == 1


def test_window_needs_dates() -> None:
    msgs = [
        ThreadInput(1, "a", subject="Budget", date=T0),
        ThreadInput(2, "b", subject="Re: Budget", date=None),
    ]
    assert thread(msgs, mode="consultation", window=timedelta(days=7)).parent[2] is None
    assert thread(msgs, mode="consultation").parent[2] == 1


def test_refs_mode_orders_threads_by_latest_message() -> None:
    msgs = [msg(1, "a", minutes=0), msg(2, "b", minutes=10), msg(3, "c", "a", minutes=20)]
    assert imap(msgs, "references") == "(2)(1 3)"
    assert imap(msgs, "rfc5256") == "(1 3)(2)"


def test_keys_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        thread([msg(1, "a"), msg(1, "b")])


def test_very_deep_chain() -> None:
    ids = [f"m{i}" for i in range(3000)]
    msgs = [msg(i, ids[i], *ids[max(0, i - 3) : i]) for i in range(3000)]
    result = thread(msgs, mode="rfc5256")
    assert len(result.threads) == 1 and result.parent[2999] == 2998
    assert format_imap_thread(result) == "(" + " ".join(map(str, range(3000))) + ")"


def test_naive_and_aware_dates_mix() -> None:
    msgs = [
        ThreadInput(1, "a", date=datetime(2025, 1, 1, 12, 0)),
        ThreadInput(2, "b", date=datetime(2025, 1, 1, 11, 0, tzinfo=UTC)),
    ]
    assert imap(msgs) == "(2)(1)"


def _shuffled(items: list[ThreadInput], seed: int) -> list[ThreadInput]:
    copy = list(items)
    random.Random(seed).shuffle(copy)
    return copy


def _shape(result: ThreadResult) -> set[tuple[object, ...]]:
    """Order-free description: each thread as its sorted (key, parent) pairs."""

    def pairs(tree: ThreadNode) -> tuple[object, ...]:
        return tuple(
            sorted((n.key, result.parent[n.key]) for n in tree.walk() if n.key is not None)
        )

    return {pairs(tree) for tree in result.threads}


@pytest.mark.parametrize("seed", range(5))
def test_consultation_does_not_depend_on_arrival_order(seed: int) -> None:
    """Whatever order messages arrive in, consultation mode gives the same result."""
    generated = conversations(600, seed=seed, strip=0.1, truncate=0.15)
    messages = [g.thread_input(i) for i, g in enumerate(generated)]
    expected = thread(messages, mode="consultation", window=timedelta(days=2))
    for shuffle in range(5):
        arrived = _shuffled(messages, seed * 100 + shuffle)
        got = thread(arrived, mode="consultation", window=timedelta(days=2))
        assert got.threads == expected.threads
        assert got.parent == expected.parent


@pytest.mark.parametrize("mode", ["references", "rfc5256"])
@pytest.mark.parametrize("seed", range(3))
def test_server_modes_group_the_same_whatever_the_order(mode: Mode, seed: int) -> None:
    """With consistent headers (truncated, never contradicting), order does not matter."""
    generated = conversations(600, seed=seed, strip=0.0, truncate=0.2, irt_only=0.1)
    messages = [g.thread_input(i) for i, g in enumerate(generated)]
    expected = thread(messages, mode=mode)
    for shuffle in range(5):
        got = thread(_shuffled(messages, seed * 100 + shuffle), mode=mode)
        assert _shape(got) == _shape(expected)


def test_generated_threads_are_found() -> None:
    """Without mangling, every generated conversation is exactly one thread."""
    generated = conversations(2000, seed=7, strip=0.0, truncate=0.0, irt_only=0.0)
    result = thread([g.thread_input(g.message_id) for g in generated], mode="references")
    by_subject: dict[str, set[object]] = {}
    for g in generated:
        by_subject.setdefault(g.subject.split("#")[1], set()).add(g.message_id)
    assert set(result.groups()) == {frozenset(group) for group in by_subject.values()}
