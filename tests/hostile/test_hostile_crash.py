"""Crash safety: `mailbot run` as a separate process, SIGKILLed three times under SMTP load.

The 10,000-message run is `bench/crash.py --messages 10000`; CI runs this smaller one.
"""

from __future__ import annotations

import json
import os

import pytest

from bench.crash import failures_of, run_harness

MESSAGES = int(os.environ.get("MAILBOT_CRASH_MESSAGES", "1500"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_under_load_loses_nothing_and_answers_nobody_twice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run_harness(
        messages=MESSAGES, kills=3, threads=8, seed=11, workdir=tmp_path, timeout=480
    )
    print("\n" + json.dumps(result, indent=1))
    assert result["kills"] == 3 and result["bot_starts"] == 4
    assert result["accepted_250"] == MESSAGES
    assert failures_of(result) == []
    assert result["lost"] == 0
    assert result["duplicate_contributions"] == 0
    assert result["duplicate_ack_rows"] == 0
    # On the wire an ack may go out twice when the kill falls between the relay's 250 and
    # the row being marked sent; it then carries the same Message-ID, so the receiving side
    # dedupes it: no participant sees two different acknowledgements of one contribution.
    assert result["acks_received_twice"] == result["acks_twice_with_same_message_id"]
