"""The chat API's edges: seed 001's endpoints, authentication, an unforeseen failure."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp.gemini import OfflineModel, Usage
from tests.support.clients import ApiUser, AuthActions
from tests.support.data import count_stored, start_chat

MISSING = str(uuid.UUID(int=1))


# --- seed 001's endpoints ------------------------------------------------------------------


def test_legacy_chat_and_history(alice: ApiUser) -> None:
    """Seed 001's routes keep their shapes; roles say ``model``; user id or name works."""
    first = alice.call("POST", "/chat", {"user_id": "alice", "message": "hello"})
    assert first.status_code == 200
    assert set(first.json) == {"response", "chat_id"}
    assert "Offline model" in first.json["response"]
    chat_id = first.json["chat_id"]
    user_id = alice.call("GET", "/api/v1/me").json["id"]
    second = alice.call(
        "POST", "/chat", {"user_id": user_id, "message": "again", "chat_id": chat_id}
    )
    assert second.json["chat_id"] == chat_id
    assert "2 earlier turn(s)" in second.json["response"]
    other = start_chat(alice, "a newer conversation")

    for who in ("alice", str(user_id)):
        assert alice.call("GET", f"/history/{who}").json == {"chat_sessions": [other, chat_id]}
    history = alice.call("GET", f"/history/alice/{chat_id}").json["history"]
    assert [turn["role"] for turn in history] == ["user", "model", "user", "model"]
    assert [history[0]["content"], history[2]["content"]] == ["hello", "again"]
    assert {"id", "timestamp", "status"} <= set(history[0])
    assert history[1]["status"] == "complete"


def test_legacy_routes_refuse_another_user_id(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """Another user's id or name is a 404 on seed 001's routes, and nothing is stored."""
    bobs = start_chat(bob, "bob's")
    bob_id = bob.call("GET", "/api/v1/me").json["id"]

    for user_id in ("bob", str(bob_id), "nobody"):
        chat = alice.call("POST", "/chat", {"user_id": user_id, "message": "hi"})
        assert chat.status_code == 404
        assert alice.call("GET", f"/history/{user_id}").status_code == 404
        assert alice.call("GET", f"/history/{user_id}/{bobs}").status_code == 404
    assert count_stored(app) == (1, 2)


def test_legacy_chat_validates_like_the_api(app: Flask, alice: ApiUser) -> None:
    """Seed 001's message is validated too, in the same error shape."""
    response = alice.call("POST", "/chat", {"user_id": "alice", "message": "  "})

    assert response.status_code == 400
    assert response.json["details"][0]["field"] == "message"
    assert count_stored(app) == (0, 0)


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/chat/message"),
        ("GET", "/api/v1/chat/sessions"),
        ("GET", f"/api/v1/chat/session/{MISSING}"),
        ("POST", "/api/v1/chat"),
        ("POST", "/chat"),
        ("GET", "/history/alice"),
    ],
)
def test_chat_routes_need_authentication(client: FlaskClient, method: str, path: str) -> None:
    """Without a token or login every chat route is a 401."""
    response = client.open(path, method=method, json={"message": "hi", "prompt": "hi"})

    assert response.status_code == 401
    assert response.json["code"] == "AUTH_REQUIRED"


def test_bad_token_is_401(client: FlaskClient) -> None:
    """An unknown token is refused."""
    response = client.post(
        "/api/v1/chat/message", json={"message": "hi"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert response.json["code"] == "INVALID_TOKEN"


def test_browser_login_needs_csrf_on_writes(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """With the login cookie, reads work and writes need the page's CSRF token."""
    auth.login()

    refused = client.post("/api/v1/chat/message", json={"message": "hi"})
    assert refused.status_code == 403
    assert refused.json["code"] == "CSRF_FAILED"
    assert count_stored(app) == (0, 0)

    sent = client.post("/api/v1/chat/message", json={"message": "hi"}, headers=auth.csrf_headers())
    assert sent.status_code == 200
    listing = client.get("/api/v1/chat/sessions").json
    assert [s["id"] for s in listing["sessions"]] == [sent.json["sessionId"]]
    legacy = {"user_id": "alice", "message": "hi"}
    assert client.post("/chat", json=legacy).status_code == 403
    assert client.post("/chat", json=legacy, headers=auth.csrf_headers()).status_code == 200
    assert client.get("/history/alice").status_code == 200


# --- an unforeseen failure -------------------------------------------------------------------


class BrokenModel(OfflineModel):
    """A model that fails in a way nobody mapped."""

    def send(self, *args: object, **kwargs: object) -> tuple[str, Usage]:
        """Fail unexpectedly."""
        raise RuntimeError("boom: secret internals")


def test_unexpected_model_failure_is_500_and_recoverable(app: Flask, alice: ApiUser) -> None:
    """An unforeseen error answers 500 without internals, marks the message, frees the chat."""
    session_id = start_chat(alice, "first")
    app.extensions["gemini"] = BrokenModel()

    response = alice.send("second", session_id)
    assert response.status_code == 500
    assert response.json["code"] == "INTERNAL_ERROR"
    assert "boom" not in response.get_data(as_text=True)
    last = alice.session(session_id).json["messages"][-1]
    assert (last["content"], last["status"], last["error_code"]) == (
        "second",
        "failed",
        "INTERNAL_ERROR",
    )

    app.extensions["gemini"] = OfflineModel()
    assert "2 earlier turn(s)" in alice.send("third", session_id).json["response"]
