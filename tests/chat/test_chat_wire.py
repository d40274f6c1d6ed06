"""The chat API through the real google-genai SDK, against the local Gemini wire server.

Each test asserts on what the server received (roles, turns, system instruction, key
header) or on how a failure of the model reaches the client.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, update

from chatapp import gemini
from chatapp.extensions import db
from chatapp.gemini import TITLE_PROMPT
from chatapp.models import ChatMessage, ChatSession, utcnow
from chatapp.services.chat.context import estimate_tokens
from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer, Recorded, Reply

# Every test here talks to the wire server through the SDK.
pytestmark = pytest.mark.wire_model


def is_title(record: Recorded) -> bool:
    """Whether a request is the automatic-title prompt rather than a chat turn."""
    contents = (record.body or {}).get("contents") or [{}]
    return (contents[0].get("parts") or [{}])[0].get("text", "").startswith(TITLE_PROMPT)


GENERATE = ("generateContent", "streamGenerateContent")


def turns(server: GeminiWireServer) -> list[Recorded]:
    """The chat-turn requests the server received (streamed or not), oldest first."""
    return [r for r in server.requests if r.method_name in GENERATE and not is_title(r)]


def contents(record: Recorded) -> list[tuple[str, str]]:
    """``(role, text)`` of each content of a recorded request."""
    return [(c["role"], c["parts"][0]["text"]) for c in record.body["contents"]]


def stored_turns(user: ApiUser, session_id: str) -> list[tuple[str, str]]:
    """The conversation as stored, in the model's role names, failed messages left out."""
    messages = user.session(session_id, limit=200).json["messages"]
    roles = {"user": "user", "assistant": "model"}
    return [(roles[m["role"]], m["content"]) for m in messages if m["status"] != "failed"]


# --- what the model receives -----------------------------------------------------------------


def test_model_receives_the_stored_conversation(wire: GeminiWireServer, alice: ApiUser) -> None:
    """Roles alternate exactly as stored; each turn carries two more contents; key in header."""
    session_id = None
    for number in range(1, 5):
        response = alice.send(f"question {number}", session_id)
        assert response.status_code == 200, response.json
        session_id = response.json["sessionId"]
        assert response.json["model"] == "gemini-test"
        assert response.json["response"].startswith(f"Echo: question {number}")
        sent = contents(turns(wire)[-1])
        assert len(sent) == 2 * number - 1
        assert sent == stored_turns(alice, session_id)[:-1]

    assert [role for role, _ in sent] == ["user", "model"] * 3 + ["user"]
    for record in wire.requests:
        assert record.headers["x-goog-api-key"] == "test-key"
        assert record.path.startswith("/v1beta/models/gemini-test:")
        assert "systemInstruction" not in record.body


def test_system_prompt_goes_in_system_instruction(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A conversation's system prompt is sent as the system instruction, never as a turn."""
    session_id = alice.send("hello").json["sessionId"]
    with app.app_context():
        db.session.execute(
            update(ChatSession).values(system_prompt="You are a pirate. Answer briefly.")
        )
        db.session.commit()

    assert alice.send("who are you?", session_id).status_code == 200
    record = turns(wire)[-1]
    assert wire.system_instruction(wire.requests.index(record)) == (
        "You are a pirate. Answer briefly."
    )
    assert all("pirate" not in text for _, text in contents(record))
    assert len(contents(record)) == 3


def test_one_off_prompt_goes_to_the_model(wire: GeminiWireServer, alice: ApiUser) -> None:
    """POST /api/v1/chat sends the prompt alone and returns the model's text."""
    wire.script(Reply(text="Recursion is a function calling itself."))
    response = alice.call("POST", "/api/v1/chat", {"prompt": "Explain recursion"})

    assert response.json == {
        "text": "Recursion is a function calling itself.",
        "sources": [],
        "model": "gemini-test",
    }
    assert wire.contents() == [("user", "Explain recursion")]


# --- failures --------------------------------------------------------------------------------

FAILURES = [
    pytest.param(Reply(status=429, retry_after=30), 503, "MODEL_RATE_LIMITED", id="429"),
    pytest.param(Reply(status=500), 502, "MODEL_UNAVAILABLE", id="500"),
    pytest.param(Reply(status=503), 502, "MODEL_UNAVAILABLE", id="503"),
    pytest.param(Reply(status=502), 502, "MODEL_UNAVAILABLE", id="502"),
    pytest.param(Reply(status=504), 504, "MODEL_TIMEOUT", id="504"),
    pytest.param(Reply(status=408), 504, "MODEL_TIMEOUT", id="408"),
    pytest.param(Reply(blocked="SAFETY"), 422, "PROMPT_BLOCKED", id="blocked"),
    pytest.param(Reply(text="", finish_reason="SAFETY"), 422, "PROMPT_BLOCKED", id="withheld"),
    pytest.param(Reply.bad_key(), 502, "MODEL_AUTH", id="bad-key"),
    pytest.param(Reply(status=401, message="API key not valid."), 502, "MODEL_AUTH", id="401"),
    pytest.param(Reply(status=403, message="API key not valid."), 502, "MODEL_AUTH", id="403"),
    pytest.param(Reply(status=400), 502, "MODEL_REQUEST_REJECTED", id="400"),
    pytest.param(Reply(break_after=0), 502, "MODEL_UNAVAILABLE", id="dropped"),
    pytest.param(Reply(break_after=0, reset=True), 502, "MODEL_UNAVAILABLE", id="reset"),
    pytest.param(Reply(hang=True), 504, "MODEL_TIMEOUT", id="timeout"),
]


@pytest.mark.parametrize(("reply", "status", "code"), FAILURES)
def test_model_failure_is_mapped_stored_and_recoverable(
    app: Flask, wire: GeminiWireServer, alice: ApiUser, reply: Reply, status: int, code: str
) -> None:
    """A failure answers with its code, marks the message failed, and is never re-sent."""
    if reply.hang:  # a short timeout keeps this test fast
        app.extensions["gemini"] = gemini.build_model({**app.config, "GEMINI_TIMEOUT": 0.3})
    session_id = alice.send("first").json["sessionId"]
    wire.script(reply)

    failed = alice.send("this one fails", session_id)
    assert failed.status_code == status
    assert failed.json["code"] == code
    assert failed.json["message"]
    assert "Reason." not in failed.json["message"]  # "SAFETY", not "FinishReason.SAFETY"
    assert "API key not valid" not in failed.get_data(as_text=True)
    if status == 503:
        assert failed.headers["Retry-After"].isdigit()
    else:
        assert "Retry-After" not in failed.headers

    messages = alice.session(session_id).json["messages"]
    assert [(m["content"], m["status"], m["error_code"]) for m in messages[-1:]] == [
        ("this one fails", "failed", code)
    ]
    assert alice.session(session_id).json["generating"] is False

    again = alice.send("next", session_id)
    assert again.status_code == 200, again.json
    assert contents(turns(wire)[-1]) == [
        ("user", "first"),
        ("model", "Echo: first (turns=1)"),
        ("user", "next"),
    ]
    assert len(alice.session(session_id).json["messages"]) == 5


def test_retries_absorb_transient_failures(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """With GEMINI_RETRIES > 1 a 503 or 429 before the reply is retried, unseen by the user."""
    app.extensions["gemini"] = gemini.build_model({**app.config, "GEMINI_RETRIES": 3})
    wire.script(Reply(status=503), Reply(status=429), Reply(text="fine"))

    response = alice.send("hello")
    assert response.status_code == 200
    assert response.json["response"] == "fine"
    assert len(turns(wire)) == 3
    assert alice.session(response.json["sessionId"]).json["messages"][0]["status"] == "complete"


def test_model_name_and_api_version_come_from_configuration(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The request path is built from GEMINI_API_VERSION and GEMINI_MODEL."""
    config = {**app.config, "GEMINI_API_VERSION": "v1", "GEMINI_MODEL": "gemini-other"}
    app.extensions["gemini"] = gemini.build_model(config)

    assert alice.send("hello").json["model"] == "gemini-other"
    assert turns(wire)[0].path.startswith("/v1/models/gemini-other:")


def test_unreachable_model_is_502(app: Flask, alice: ApiUser) -> None:
    """Nothing listening at GEMINI_BASE_URL: MODEL_UNAVAILABLE, and the message is kept."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app.extensions["gemini"] = gemini.build_model({**app.config, "GEMINI_BASE_URL": closed})

    response = alice.send("anyone there?")
    assert (response.status_code, response.json["code"]) == (502, "MODEL_UNAVAILABLE")
    session_id = alice.call("GET", "/api/v1/chat/sessions").json["sessions"][0]["id"]
    assert alice.session(session_id).json["messages"][0]["status"] == "failed"


def test_bad_key_is_logged_for_the_operator(
    wire: GeminiWireServer, alice: ApiUser, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator sees why the key was refused; the client does not."""
    wire.script(Reply.bad_key())
    response = alice.send("hi")

    assert response.json["code"] == "MODEL_AUTH"
    assert "API key not valid" in caplog.text


def test_one_off_prompt_failure_is_mapped(wire: GeminiWireServer, alice: ApiUser) -> None:
    """The one-off prompt maps failures the same way."""
    wire.script(Reply(status=429))
    response = alice.call("POST", "/api/v1/chat", {"prompt": "hi"})

    assert response.status_code == 503
    assert response.json["code"] == "MODEL_RATE_LIMITED"
    assert response.headers["Retry-After"].isdigit()


def test_first_turn_failure_leaves_the_conversation_usable(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A conversation whose first message failed still exists and continues normally."""
    wire.script(Reply(status=500))
    failed = alice.send("hello?")
    assert failed.status_code == 502
    listing = alice.call("GET", "/api/v1/chat/sessions").json
    session_id = listing["sessions"][0]["id"]

    assert alice.send("hello again", session_id).status_code == 200
    assert contents(turns(wire)[-1]) == [("user", "hello again")]


# --- automatic titles ------------------------------------------------------------------------


def test_model_writes_the_title_after_the_first_exchange(
    wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The title comes from a separate request to the model, tidied; only once."""
    wire.script(Reply(text="Sure, let's plan."), Reply(text='"Planning A Vegetable Garden."\n'))
    first = alice.send("Help me plan a vegetable garden for spring")

    assert first.json["title"] == "Planning A Vegetable Garden"
    titles = [r for r in wire.requests if is_title(r)]
    assert len(titles) == 1
    assert "Help me plan a vegetable garden for spring" in contents(titles[0])[0][1]
    alice.send("What about tomatoes?", first.json["sessionId"])
    assert len([r for r in wire.requests if is_title(r)]) == 1
    assert alice.session(first.json["sessionId"]).json["title"] == "Planning A Vegetable Garden"


@pytest.mark.parametrize("title_reply", [Reply(status=500), Reply(text="")])
def test_title_falls_back_to_the_first_words(
    wire: GeminiWireServer, alice: ApiUser, title_reply: Reply
) -> None:
    """When the title request fails or is empty, the first message's words are used."""
    wire.script(Reply(text="ok"), title_reply)
    response = alice.send("Help me plan a vegetable garden for spring")

    assert response.status_code == 200
    assert response.json["title"] == "Help me plan a vegetable garden"


# --- guarantees ------------------------------------------------------------------------------


def test_context_budget_keeps_the_newest_pairs(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """A long conversation sends only the newest whole pairs that fit CHAT_CONTEXT_TOKENS."""
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
        assert first.extensions["gemini"].cache is not second.extensions["gemini"].cache
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


def test_cached_chat_is_reused_while_it_matches(app: Flask, alice: ApiUser) -> None:
    """One instance keeps one chat object per conversation in its bounded cache."""
    session_id = alice.send("one").json["sessionId"]
    cache = app.extensions["gemini"].cache
    with app.app_context():
        key = str(db.session.scalars(select(ChatSession.id)).one())
    cached = cache._entries[key][1]

    alice.send("two", session_id)
    assert cache._entries[key][1] is cached
    assert len(cache) == 1


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
