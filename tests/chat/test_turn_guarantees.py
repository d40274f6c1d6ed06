"""A chat turn's guarantees, through the real SDK against the local Gemini wire server.

The context budget, the same history from every instance, the user's message committed
before the model is called, one turn at a time per conversation, and a conversation
deleted during its turn.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, update

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, utcnow
from chatapp.services.chat.context import estimate_tokens
from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.turns import contents, stored_turns, summary_requests, turns

# Every test here talks to the wire server through the SDK.
pytestmark = pytest.mark.wire_model


# --- guarantees ------------------------------------------------------------------------------


@pytest.mark.wire_model(CHAT_SUMMARIES=False)
def test_context_budget_keeps_the_newest_pairs(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Without summaries, a long conversation sends only the newest whole pairs that fit
    CHAT_CONTEXT_TOKENS (the older ones are dropped; no summary is asked for)."""
    message, reply = "m" * 40, "r" * 40
    pair = estimate_tokens(message) + estimate_tokens(reply)
    app.config["CHAT_CONTEXT_TOKENS"] = estimate_tokens(message) + 2 * pair
    wire.default = Reply(text=reply)
    session_id = None
    for _ in range(5):
        session_id = alice.send(message, session_id).json["sessionId"]

    sent = [len(contents(record)) for record in turns(wire)]
    assert sent == [1, 3, 5, 5, 5]
    assert contents(turns(wire)[-1]) == [("user", message), ("model", reply)] * 2 + [
        ("user", message)
    ]
    assert summary_requests(wire) == []
    assert wire.system_instruction() is None
    assert alice.session(session_id).json["summary"] is None


def test_two_instances_alternate_turns_with_the_full_history(
    database_url: str, wire: GeminiWireServer
) -> None:
    """Two app instances on one database serve alternate turns; the model sees everything."""
    unlimited = wire_config(wire, RATELIMIT_ENABLED=False)  # 50 turns outrun 20 a minute
    first = build_app(database_url, **unlimited)
    second = build_app(database_url, fresh=False, **unlimited)
    try:
        headers = AuthActions(first, first.test_client()).headers("alice")
        users = [ApiUser(app.test_client(), headers) for app in (first, second)]
        session_id = None
        for number in range(1, 51):
            response = users[number % 2].send(f"turn {number}", session_id)
            assert response.status_code == 200, response.json
            session_id = response.json["sessionId"]
            assert len(contents(turns(wire)[-1])) == 2 * number - 1
        assert [contents(r) for r in turns(wire)][-1] == stored_turns(users[0], session_id)[:-1]
        assert stored_turns(users[1], session_id)[-1] == ("model", "Echo: turn 50 (turns=99)")
    finally:
        close_app(second)
        close_app(first)


def read_elsewhere(database_url: str) -> tuple[list[tuple[str, str]], bool]:
    """Messages and whether a turn is in progress, read on a connection outside the app."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(ChatMessage.content, ChatMessage.status).order_by(ChatMessage.position)
            )
            messages = [tuple(row) for row in rows]
            busy = connection.scalar(select(ChatSession.turn_id)) is not None
    finally:
        engine.dispose()
    return messages, busy


def in_background(call: Any) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` on a thread; its result lands in the returned list."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


def test_user_message_is_committed_before_the_model_is_called(
    database_url: str, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """While the model is answering, the message is in the database and the chat is busy."""
    session_id = alice.send("first").json["sessionId"]
    wire.script(Reply(delay=0.5))
    count = len(wire.requests)
    thread, result = in_background(lambda: alice.send("in flight", session_id))

    assert wire.wait_requests(count + 1)
    messages, busy = read_elsewhere(database_url)
    assert messages[-1] == ("in flight", "complete")
    assert len(messages) == 3
    assert busy
    thread.join()
    assert result[0].status_code == 200
    messages, busy = read_elsewhere(database_url)
    assert messages[-1] == ("Echo: in flight (turns=3)", "complete")
    assert not busy


def test_concurrent_sends_never_interleave(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """Simultaneous sends to one conversation: one runs, the rest get 409; nothing is lost."""
    session_id = alice.send("first").json["sessionId"]
    wire.default = Reply(delay=0.3)
    senders = 6
    barrier = threading.Barrier(senders)

    def send(number: int) -> Any:
        user = ApiUser(app.test_client(), alice.headers)
        barrier.wait()
        return user.send(f"concurrent {number}", session_id)

    with ThreadPoolExecutor(senders) as pool:
        responses = list(pool.map(send, range(senders)))

    done = [n for n, r in enumerate(responses) if r.status_code == 200]
    busy = [r for r in responses if r.status_code != 200]
    assert done
    assert {(r.status_code, r.json["code"]) for r in busy} <= {(409, "SESSION_BUSY")}
    with app.app_context():
        rows = db.session.execute(
            select(ChatMessage.position, ChatMessage.role, ChatMessage.content).order_by(
                ChatMessage.position
            )
        ).all()
    assert [row.position for row in rows] == list(range(2 + 2 * len(done)))
    assert [row.role for row in rows] == ["user", "model"] * (1 + len(done))
    users = [row.content for row in rows if row.role == "user"]
    assert sorted(users[1:]) == sorted(f"concurrent {n}" for n in done)
    wire.default = None
    assert alice.send("after", session_id).status_code == 200


def test_stale_turn_lock_is_taken_over(app: Flask, alice: ApiUser) -> None:
    """A turn left unfinished by a crashed worker blocks only until CHAT_TURN_TIMEOUT."""
    session_id = alice.send("first").json["sessionId"]

    def lock(age: int) -> None:
        with app.app_context():
            started = utcnow() - timedelta(seconds=age)
            db.session.execute(update(ChatSession).values(turn_id="dead", turn_started_at=started))
            db.session.commit()

    lock(10)
    busy = alice.send("blocked", session_id)
    assert (busy.status_code, busy.json["code"]) == (409, "SESSION_BUSY")
    assert alice.session(session_id).json["generating"] is True
    lock(app.config["CHAT_TURN_TIMEOUT"] + 1)
    assert alice.send("taken over", session_id).status_code == 200
    assert alice.session(session_id).json["message_count"] == 4


def test_deleting_during_a_turn_answers_404(
    database_url: str, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A conversation deleted while the model answers is gone; the sender is told so."""
    session_id = alice.send("first").json["sessionId"]
    wire.script(Reply(delay=0.8))
    count = len(wire.requests)
    thread, result = in_background(lambda: alice.send("in flight", session_id))
    assert wire.wait_requests(count + 1)

    assert alice.call("DELETE", f"/api/v1/chat/session/{session_id}").status_code == 200
    thread.join()
    assert result[0].status_code == 404
    assert read_elsewhere(database_url)[0] == []
