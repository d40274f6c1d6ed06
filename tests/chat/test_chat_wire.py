"""The chat API through the real google-genai SDK, against the local Gemini wire server.

Each test asserts on what the server received (roles, turns, system instruction, key
header) or on how a failure of the model reaches the client.
"""

from __future__ import annotations

import socket

import pytest
from flask import Flask
from sqlalchemy import update

from chatapp import gemini
from chatapp.extensions import db
from chatapp.models import ChatSession
from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.turns import contents, is_title, stored_turns, turns

# Every test here talks to the wire server through the SDK.
pytestmark = pytest.mark.wire_model


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
