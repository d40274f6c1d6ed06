"""Seeds 000 and 002 through the real SDK against the wire server: their turns are real
turns (the model gets the history and the grounding), their failures the API's."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.chat.test_chat_wire import contents, turns
from tests.support.clients import ApiUser
from tests.support.data import count_stored
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.knowledge import add_collection, add_document

pytestmark = pytest.mark.wire_model()
HERONS = "Grey herons nest in tall trees in colonies called heronries."


def test_seed_000_prompt_is_grounded_like_the_api(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """``POST /api/chat {"prompt", "collectionIds"}`` cites its sources; nothing is stored."""
    birds = add_collection(app, "alice", "Birds")
    add_document(app, birds, "Herons", [HERONS])
    wire.script(Reply(text="They nest in trees [1]."))

    answer = alice.call("POST", "/api/chat", {"prompt": "herons", "collectionIds": [birds]})

    assert answer.status_code == 200, answer.json
    assert answer.json["text"] == "They nest in trees [1]."
    assert answer.json["sources"][0]["title"] == "Herons"
    assert count_stored(app) == (0, 0)


def test_both_seeds_send_the_whole_conversation(wire: GeminiWireServer, alice: ApiUser) -> None:
    """A seed 000 message and a seed 002 chat in one conversation: the model is sent the
    earlier turns each time, whichever API sent them."""
    # The second reply titles the conversation after its first exchange.
    wire.script(Reply(text="Paris."), Reply(text="France"), Reply(text="About two million."))
    session_id = alice.call("POST", "/api/sessions", {"user_id": "alice"}).json["session_id"]

    first = alice.call(
        "POST", f"/api/sessions/{session_id}/messages", {"content": "Capital of France?"}
    )
    second = alice.call(
        "POST", "/api/chat", {"sessionId": session_id, "message": "How many live there?"}
    )

    assert first.json["reply"]["content"] == "Paris."
    assert second.json["message"] == "About two million."
    assert contents(turns(wire)[-1]) == [
        ("user", "Capital of France?"),
        ("model", "Paris."),
        ("user", "How many live there?"),
    ]


def test_model_failure_keeps_the_message_marked_failed(
    app: Flask, wire: GeminiWireServer, alice: ApiUser
) -> None:
    """The model's outage is the API's 502 on seed 002's chat; the message stays, failed."""
    session_id = alice.call("POST", "/api/sessions").json["sessionId"]
    wire.script(Reply(status=500))

    response = alice.call("POST", "/api/chat", {"sessionId": session_id, "message": "hi"})

    assert response.status_code == 502
    assert response.json["code"] == "MODEL_UNAVAILABLE"
    history = alice.call("GET", f"/api/chat/history/{session_id}").json["messages"]
    assert [m["content"] for m in history] == ["hi"]
    assert alice.session(session_id).json["messages"][0]["status"] == "failed"
