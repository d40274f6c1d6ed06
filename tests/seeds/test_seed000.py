"""Seed 000's API under ``/api``: its usage examples replayed with a Bearer token."""

from __future__ import annotations

import uuid

from flask import Flask

from tests.support.clients import ApiUser
from tests.support.data import count_stored, start_chat

QUESTION = "What is the capital of France?"


def test_simple_chat(alice: ApiUser) -> None:
    """``POST /api/chat {"prompt"}`` answers with text and empty sources; nothing is stored."""
    response = alice.call("POST", "/api/chat", {"prompt": QUESTION})

    assert response.status_code == 200
    assert {"text", "sources"} <= set(response.json)
    assert response.json["sources"] == []
    assert "Offline model" in response.json["text"]
    assert alice.call("GET", "/api/v1/chat/sessions").json["total"] == 0


def test_simple_chat_takes_the_api_grounding(alice: ApiUser) -> None:
    """The prompt takes ``collectionIds`` like ``/api/v1/chat``: an unknown one is refused."""
    missing = str(uuid.UUID(int=7))
    response = alice.call("POST", "/api/chat", {"prompt": QUESTION, "collectionIds": [missing]})

    assert response.status_code == 404
    assert response.json["code"] == "COLLECTION_NOT_FOUND"


def test_session_based_chat(alice: ApiUser) -> None:
    """The four steps of the document, ids from earlier responses: create, send, read, list."""
    created = alice.call("POST", "/api/sessions", {"user_id": "alice", "title": "Paris Questions"})
    assert created.status_code == 201
    session_id = created.json["session_id"]
    assert uuid.UUID(session_id) and created.json["sessionId"] == session_id

    sent = alice.call("POST", f"/api/sessions/{session_id}/messages", {"content": QUESTION})
    assert sent.status_code == 200
    assert sent.json["message"] == "Message sent."
    assert sent.json["reply"]["role"] == "model"
    assert "Offline model" in sent.json["reply"]["content"]

    messages = alice.call("GET", f"/api/sessions/{session_id}/messages")
    assert messages.status_code == 200
    assert [(m["role"], m["content"]) for m in messages.json] == [
        ("user", QUESTION),
        ("model", sent.json["reply"]["content"]),
    ]
    assert all(set(m) == {"role", "content", "timestamp"} for m in messages.json)

    user_id = alice.call("GET", "/api/v1/me").json["id"]
    for who in ("alice", str(user_id)):
        listed = alice.call("GET", f"/api/users/{who}/sessions")
        assert listed.status_code == 200
        (session,) = listed.json
        assert set(session) == {"session_id", "user_id", "title", "created_at", "messages"}
        assert session["session_id"] == session_id and session["user_id"] == who
        assert session["title"] == "Paris Questions"
        assert session["messages"] == messages.json


def test_sessions_list_all_conversations_newest_first(alice: ApiUser) -> None:
    """Conversations started in ``/api/v1`` are listed too, newest first."""
    older = start_chat(alice, "first")
    newer = alice.call("POST", "/api/sessions", {"user_id": "alice"}).json["session_id"]

    listed = alice.call("GET", "/api/users/alice/sessions").json

    assert [s["session_id"] for s in listed] == [newer, older]
    assert [len(s["messages"]) for s in listed] == [0, 2]


def test_another_users_sessions_are_not_found(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    """Another user's id or sessions, a missing session and a malformed id are 404s;
    nothing is stored."""
    bobs = start_chat(bob, "bob's")
    missing = str(uuid.UUID(int=1))

    for user_id in ("bob", "user-123"):
        created = alice.call("POST", "/api/sessions", {"user_id": user_id, "title": "x"})
        assert created.status_code == 404
        assert alice.call("GET", f"/api/users/{user_id}/sessions").status_code == 404
    for session_id in (bobs, missing, "abc-def-ghi"):
        sent = alice.call("POST", f"/api/sessions/{session_id}/messages", {"content": "hi"})
        assert sent.status_code == 404
        assert sent.json["error"] == "Session not found"
        assert alice.call("GET", f"/api/sessions/{session_id}/messages").status_code == 404
    assert count_stored(app) == (1, 2)


def test_session_message_is_validated(app: Flask, alice: ApiUser) -> None:
    """A blank or missing ``content`` is a 400 naming it, and nothing is stored."""
    session_id = alice.call("POST", "/api/sessions", {}).json["session_id"]

    for body in ({"content": "  "}, {}, {"message": "hi"}):
        sent = alice.call("POST", f"/api/sessions/{session_id}/messages", body)
        assert sent.status_code == 400
        assert "content" in [d["field"] for d in sent.json["details"]]
    assert count_stored(app) == (1, 0)
