"""What one turn asks of the database: a bounded number of statements and two commits
(issue 15; docs/benchmarks.md lists them). More would mean a reload or a round trip crept
back in."""

from __future__ import annotations

import pytest
from flask import Flask

from chatapp.extensions import db
from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer
from tests.support.statements import Recorder
from tests.support.turns import summary_requests

pytestmark = pytest.mark.wire_model

# Token, user, conversation, lock, history, message; release, reply.
TURN_STATEMENTS = 8


def test_a_turn_runs_eight_statements_in_two_commits(app: Flask, alice: ApiUser) -> None:
    """A later turn, whole or streamed, reads and writes in 8 statements and 2 commits."""
    with app.app_context():
        recorder = Recorder(db.engine)
    session_id = alice.send("first").json["sessionId"]
    alice.send("second", session_id)

    whole = recorder.measure(lambda: alice.send("third", session_id))
    streamed = recorder.measure(
        lambda: alice.call(
            "POST", "/api/v1/chat/message/stream", {"message": "fourth", "sessionId": session_id}
        ).get_data()
    )

    for statements, commits in (whole, streamed):
        assert len(statements) == TURN_STATEMENTS, statements
        assert commits == 2
    assert alice.session(session_id).json["messages"][-1]["content"].startswith("Echo: fourth")


def test_a_turn_past_the_budget_adds_one_lookup_and_a_summary_one_insert(
    app: Flask, alice: ApiUser, wire: GeminiWireServer
) -> None:
    """Past ``CHAT_CONTEXT_TOKENS`` a turn looks its path's summary up (one statement
    more); one that writes a summary also stores it (one insert, one commit more)."""
    with app.app_context():
        recorder = Recorder(db.engine)
    session_id = alice.send("x" * 400).json["sessionId"]
    alice.send("y" * 400, session_id)
    app.config["CHAT_CONTEXT_TOKENS"] = 300  # the two exchanges no longer fit

    summarising = recorder.measure(lambda: alice.send("third", session_id))
    reusing = recorder.measure(lambda: alice.send("fourth", session_id))

    assert [len(summarising[0]), summarising[1]] == [TURN_STATEMENTS + 2, 3]
    assert sum(s.startswith("INSERT INTO chat_summaries") for s in summarising[0]) == 1
    assert [len(reusing[0]), reusing[1]] == [TURN_STATEMENTS + 1, 2], reusing[0]
    assert len(summary_requests(wire)) == 1
