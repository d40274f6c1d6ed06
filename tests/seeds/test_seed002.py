"""Seed 002's API under ``/api``: its usage examples and edge-case tables replayed with a
Bearer token, ids taken from earlier responses where the document shows placeholders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.app import build_app, close_app
from tests.support.clients import ApiUser, AuthActions
from tests.support.data import count_stored, start_chat
from tests.support.outage import DatabaseOutage

QUESTION = "What's the latest news about AI?"
MISSING = str(uuid.UUID(int=1))
RESET = {
    "error": "Session was reset",
    "message": "This conversation has been saved and reset. Please start a new chat to continue.",
    "code": "SESSION_RESET",
}


def new_session(user: ApiUser) -> str:
    """``POST /api/sessions {}``: a new conversation's id."""
    response = user.call("POST", "/api/sessions", {})
    assert response.status_code == 201
    return response.json["sessionId"]


def chat(user: ApiUser, session_id: str, message: str = QUESTION) -> Any:
    """``POST /api/chat {"sessionId", "message"}``."""
    return user.call("POST", "/api/chat", {"sessionId": session_id, "message": message})


@pytest.mark.parametrize("body", [{}, None])
def test_create_session(alice: ApiUser, body: dict[str, Any] | None) -> None:
    """Example 1: ``{}`` (or no body at all, as curl sends) gives 201 with a UUID and time."""
    response = alice.call("POST", "/api/sessions", body)

    assert response.status_code == 201
    assert set(response.json) == {"sessionId", "createdAt", "session_id"}
    assert str(uuid.UUID(response.json["sessionId"])) == response.json["sessionId"]
    assert response.json["createdAt"].startswith("20")


def test_chat_history_reset_and_past_sessions(alice: ApiUser) -> None:
    """Examples 1 to 5 in order: create, chat, history, reset, list, and read it again."""
    session_id = new_session(alice)

    sent = chat(alice, session_id, "What is happening with AI?")
    assert sent.status_code == 200
    assert set(sent.json) == {"message", "messageId", "timestamp"}
    assert "Offline model" in sent.json["message"]

    history = alice.call("GET", f"/api/chat/history/{session_id}")
    assert history.status_code == 200
    assert history.json["sessionId"] == session_id
    messages = history.json["messages"]
    assert [(m["sender"], m["content"]) for m in messages] == [
        ("user", "What is happening with AI?"),
        ("assistant", sent.json["message"]),
    ]
    assert messages[1]["messageId"] == sent.json["messageId"]
    assert all(set(m) == {"messageId", "content", "sender", "timestamp"} for m in messages)

    reset = alice.call("DELETE", f"/api/sessions/{session_id}")
    assert reset.status_code == 200
    assert reset.json == {"success": True, "message": "Session deleted successfully"}

    listed = alice.call(
        "GET", "/api/sessions", query_string={"sessionIds": session_id, "limit": 10, "offset": 0}
    )
    assert listed.status_code == 200
    (saved,) = listed.json["sessions"]
    assert listed.json["total"] == 1
    assert saved["sessionId"] == session_id and saved["title"]
    assert set(saved) == {"sessionId", "title", "createdAt"}
    # The document's ``curl /api/sessions`` without ids: the edge-case table's empty list.
    assert alice.call("GET", "/api/sessions").json == {"sessions": [], "total": 0}

    again = alice.call("GET", f"/api/chat/history/{session_id}")
    assert again.status_code == 200
    assert again.json == history.json


# --- edge cases of "Send Chat Message" --------------------------------------------------------


def test_chat_with_unknown_session_is_404(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """Session not found: 404 ``{"error": "Session not found"}`` (also for another user's)."""
    bobs = new_session(bob)

    for session_id in (MISSING, bobs):
        response = chat(alice, session_id)
        assert response.status_code == 404
        assert response.json["error"] == "Session not found"
    assert count_stored(app) == (1, 0)


def test_chat_after_reset_is_410(app: Flask, alice: ApiUser) -> None:
    """Session was reset: 410 with the document's error, message and code; nothing stored."""
    session_id = new_session(alice)
    assert chat(alice, session_id).status_code == 200
    alice.call("DELETE", f"/api/sessions/{session_id}")

    response = chat(alice, session_id)

    assert response.status_code == 410
    assert response.json == RESET
    assert count_stored(app) == (1, 2)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"sessionId": MISSING}, ["message"]),
        ({"sessionId": MISSING, "message": "   "}, ["message"]),
        ({"sessionId": MISSING, "message": 42}, ["message"]),
        ({"message": "hi"}, ["sessionId"]),
        ({"sessionId": "abc-123", "message": "hi"}, ["sessionId"]),
        ({}, ["sessionId", "message"]),
        ({"prompt": "hi", "message": "hi"}, ["prompt", "message"]),
        ({"prompt": "hi", "sessionId": MISSING}, ["sessionId"]),
    ],
)
def test_invalid_message_format_is_400(
    app: Flask, alice: ApiUser, body: dict[str, Any], fields: list[str]
) -> None:
    """Invalid message format: 400 "Validation failed" with details on each field."""
    response = alice.call("POST", "/api/chat", body)

    assert response.status_code == 400
    assert response.json["error"] == "Validation failed"
    assert response.json["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in response.json["details"]] == fields
    assert count_stored(app) == (0, 0)


# --- edge cases of "Get Chat History" and "Reset Session" ------------------------------------


def test_history_of_unknown_session_is_404(alice: ApiUser, bob: ApiUser) -> None:
    """Session/messages not found: 404 ``{"error": "Session or messages not found"}``."""
    bobs = start_chat(bob, "bob's")

    for session_id in (MISSING, bobs):
        response = alice.call("GET", f"/api/chat/history/{session_id}")
        assert response.status_code == 404
        assert response.json["error"] == "Session or messages not found"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_malformed_session_id_is_400(alice: ApiUser, method: str) -> None:
    """Invalid sessionId format (history, reset): a 400 naming ``sessionId``."""
    path = "/api/chat/history/abc-123" if method == "GET" else "/api/sessions/abc-123"

    response = alice.call(method, path)

    assert response.status_code == 400
    assert [d["field"] for d in response.json["details"]] == ["sessionId"]


def test_reset_of_unknown_session_is_404(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """Session not found: 404 ``{"error": "Session not found"}``; bob's stays open."""
    bobs = start_chat(bob, "bob's")

    for session_id in (MISSING, bobs):
        response = alice.call("DELETE", f"/api/sessions/{session_id}")
        assert response.status_code == 404
        assert response.json["error"] == "Session not found"
    assert bob.session(bobs).json["archived"] is False


@pytest.fixture
def fragile(app: Flask, database_url: str) -> Iterator[tuple[Flask, DatabaseOutage]]:
    """A worker on the test database whose connections can be cut, and its switch."""
    outage = DatabaseOutage(database_url)
    worker = build_app(outage.app_url, fresh=False)
    outage.attach(worker)
    yield worker, outage
    outage.restore()
    close_app(worker)
    outage.close()


def test_reset_when_the_database_fails_changes_nothing(
    alice: ApiUser, fragile: tuple[Flask, DatabaseOutage]
) -> None:
    """Database persistence fails: a 5xx (503 ``DATABASE_UNAVAILABLE``, ``Retry-After``),
    and the conversation is still open afterwards."""
    worker, outage = fragile
    session_id = new_session(alice)
    client = worker.test_client()
    headers = AuthActions(worker, client).headers("alice")

    outage.cut()
    response = client.delete(f"/api/sessions/{session_id}", headers=headers)
    outage.restore()

    assert response.status_code == 503
    assert response.json["code"] == "DATABASE_UNAVAILABLE"
    assert response.headers["Retry-After"]
    assert alice.session(session_id).json["archived"] is False
    assert chat(alice, session_id).status_code == 200


def test_reset_twice_is_still_ok(alice: ApiUser) -> None:
    """A second reset of the same conversation changes nothing and says so (200)."""
    session_id = new_session(alice)

    for _ in range(2):
        assert alice.call("DELETE", f"/api/sessions/{session_id}").status_code == 200
    assert alice.session(session_id).json["archived"] is True


# --- edge cases of "List User's Previous Sessions" --------------------------------------------


def test_previous_sessions_edge_cases(alice: ApiUser, bob: ApiUser) -> None:
    """No ids: empty. Malformed ids: skipped. Ids not saved (open, missing, another user's):
    not included. ``limit``/``offset`` page the rest, newest first."""
    saved = [new_session(alice) for _ in range(3)]
    for session_id in saved:
        alice.call("DELETE", f"/api/sessions/{session_id}")
    still_open = new_session(alice)
    bobs = new_session(bob)
    bob.call("DELETE", f"/api/sessions/{bobs}")

    def listed(**query: Any) -> Any:
        """The previous sessions for ``query``."""
        response = alice.call("GET", "/api/sessions", query_string=query)
        assert response.status_code == 200
        return response.json

    assert listed() == {"sessions": [], "total": 0}
    assert listed(sessionIds="") == {"sessions": [], "total": 0}
    asked = ",".join([*saved, "789e0123-f45g-67h8-i901-234567890123", still_open, MISSING, bobs])
    everything = listed(sessionIds=asked)
    assert everything["total"] == 3
    assert {s["sessionId"] for s in everything["sessions"]} == set(saved)
    page = listed(sessionIds=asked, limit=2, offset=1)
    assert page["total"] == 3
    assert [s["sessionId"] for s in page["sessions"]] == [
        s["sessionId"] for s in everything["sessions"][1:3]
    ]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
def test_previous_sessions_paging_is_validated(alice: ApiUser, query: dict[str, int]) -> None:
    """``limit`` is 1 to 100 and ``offset`` at least 0: otherwise a 400 naming it."""
    response = alice.call("GET", "/api/sessions", query_string={"sessionIds": MISSING, **query})

    assert response.status_code == 400
    assert [d["field"] for d in response.json["details"]] == list(query)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/sessions"),
        ("GET", "/api/sessions"),
        ("POST", "/api/chat"),
        ("GET", f"/api/chat/history/{MISSING}"),
        ("DELETE", f"/api/sessions/{MISSING}"),
        ("POST", f"/api/sessions/{MISSING}/messages"),
        ("GET", f"/api/sessions/{MISSING}/messages"),
        ("GET", "/api/users/alice/sessions"),
    ],
)
def test_seed_routes_need_a_token(app: Flask, method: str, path: str) -> None:
    """The seeds needed no authentication; chatapp does: without a token, a 401."""
    body = {"sessionId": MISSING, "message": "hi", "content": "hi"} if method == "POST" else None

    response = app.test_client().open(path, method=method, json=body)

    assert response.status_code == 401
    assert response.json["code"] == "AUTH_REQUIRED"
    assert count_stored(app) == (0, 0)
