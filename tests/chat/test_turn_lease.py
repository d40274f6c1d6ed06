"""The turn lock's lease: a dead holder's lock is taken over, a live one's is not.

A holder that died (``kill -9``) is simulated here by a turn prepared and never finished,
whose lease then lapses; ``tests/test_multiprocess.py`` kills a real worker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from chatapp.extensions import db
from chatapp.models import ChatSession, utcnow
from chatapp.services import accounts
from chatapp.services.chat import turns
from tests.chat.test_stream import (
    STREAM,
    events_of,
    open_stream,
    stored,
)
from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer, Reply


def orphan_turn(app: Flask, session_id: str, text: str) -> None:
    """Leave what a worker killed mid-reply leaves: the lock held and the message stored."""
    with app.app_context():
        user = accounts.find_user("alice")
        assert user is not None
        turns.prepare_turn(user, text, session_id)
        db.session.remove()


def lapse(app: Flask, session_id: str) -> None:
    """Move the lease of the conversation's turn into the past (its holder stopped renewing)."""
    with app.app_context():
        db.session.execute(
            update(ChatSession)
            .where(ChatSession.id == uuid.UUID(session_id))
            .values(turn_lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def wait_renewed(app: Flask, session_id: str) -> None:
    """Wait until the watcher renewed the turn's lease once (taking the lock set it to the
    start time plus the lease; a later renewal is far off)."""
    lease = timedelta(seconds=app.config["CHAT_TURN_LEASE"])
    with app.app_context():
        for _ in range(500):
            session = db.session.get(ChatSession, uuid.UUID(session_id), populate_existing=True)
            assert session is not None and session.turn_started_at is not None
            if session.turn_lease_until != session.turn_started_at + lease:
                return
            db.session.rollback()
            time.sleep(0.02)
    raise AssertionError("the lease was never renewed")


def test_a_dead_turn_blocks_until_its_lease_lapses_then_is_abandoned(
    app: Flask, alice: ApiUser
) -> None:
    first = alice.send("First question")
    session_id = first.json["sessionId"]
    orphan_turn(app, session_id, "Never answered")

    busy = alice.send("Hello?", session_id)
    assert busy.status_code == 409 and busy.json["code"] == "SESSION_BUSY"
    assert alice.session(session_id).json["generating"] is True

    lapse(app, session_id)
    page = alice.session(session_id).json  # a read takes the dead turn over
    assert page["generating"] is False
    last = page["messages"][-1]
    assert (last["role"], last["content"]) == ("user", "Never answered")
    assert (last["status"], last["error_code"]) == ("failed", "TURN_ABANDONED")

    reply = alice.send("Hello?", session_id)
    assert reply.status_code == 200
    assert "2 earlier turn(s)" in reply.json["response"]  # the abandoned message is left out


def test_the_next_turn_takes_over_a_lapsed_lock_itself(app: Flask, alice: ApiUser) -> None:
    session_id = alice.send("First question").json["sessionId"]
    orphan_turn(app, session_id, "Never answered")
    lapse(app, session_id)

    reply = alice.send("Again", session_id)  # no read in between
    assert reply.status_code == 200
    assert "2 earlier turn(s)" in reply.json["response"]
    messages = alice.session(session_id).json["messages"]
    assert [(m["content"], m["status"], m["error_code"]) for m in messages[2:4]] == [
        ("Never answered", "failed", "TURN_ABANDONED"),
        ("Again", "complete", None),
    ]


def test_a_running_stream_renews_its_lease(
    make_worker: Callable[..., Flask], headers: dict[str, str], wire: GeminiWireServer
) -> None:
    """A stream lasting many leases keeps its lock, and ends normally."""
    worker = make_worker(CHAT_TURN_LEASE=0.3)
    words = [f"w{i} " for i in range(12)]
    wire.script(Reply(chunks=words, chunk_delay=0.15), Reply(text="Title"))
    response, frames, session_id = open_stream(worker, headers, "Long")
    for _ in range(8):  # over a second: several leases
        next(frames)

    other = make_worker(CHAT_TURN_LEASE=0.3).test_client()  # another worker
    busy = other.post(STREAM, json={"message": "Also", "sessionId": session_id}, headers=headers)
    assert busy.status_code == 409 and busy.json["code"] == "SESSION_BUSY"
    assert other.get(f"/api/v1/chat/session/{session_id}", headers=headers).json["generating"]
    events = events_of("".join(frames))
    response.close()
    assert events[-1]["type"] == "end" and events[-1]["status"] == "complete"
    assert stored(worker, session_id)[-1] == ("model", "".join(words), "complete", None)


def test_a_turn_that_lost_its_lock_stores_nothing(
    make_worker: Callable[..., Flask], headers: dict[str, str], wire: GeminiWireServer
) -> None:
    """A holder that could not renew in time (taken over) ends with TURN_ABANDONED."""
    worker = make_worker(CHAT_TURN_LEASE=60)  # renewed at the start, then not for 20 s
    wire.script(Reply(chunks=[f"w{i} " for i in range(6)], chunk_delay=0.1))
    response, frames, session_id = open_stream(worker, headers, "Slow")
    next(frames)
    wait_renewed(worker, session_id)
    lapse(worker, session_id)
    page = worker.test_client().get(f"/api/v1/chat/session/{session_id}", headers=headers)
    assert page.json["generating"] is False

    events = events_of("".join(frames))
    response.close()
    assert events[-1]["type"] == "error" and events[-1]["code"] == "TURN_ABANDONED"
    assert stored(worker, session_id) == [("user", "Slow", "failed", "TURN_ABANDONED")]
