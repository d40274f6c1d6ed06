"""What one turn asks of the database: a bounded number of statements and two commits
(issue 15; docs/benchmarks.md lists them). More would mean a reload or a round trip crept
back in."""

from __future__ import annotations

import pytest
from flask import Flask

from chatapp.extensions import db
from tests.support.clients import ApiUser
from tests.support.statements import Recorder

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
