"""Archived conversations: every route that would add to one answers 410, reading works,
``/api/v1`` archives and unarchives, and the seed routes share the ``/api/v1`` budgets."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from chatapp.extensions import db
from chatapp.models import ChatSession
from chatapp.services.chat import leases
from tests.support.clients import ApiUser
from tests.support.data import count_stored, start_chat


def archive(user: ApiUser, session_id: str, archived: bool = True) -> Any:
    """Archive (or unarchive) a conversation through ``/api/v1``."""
    response = user.call("PATCH", f"/api/v1/chat/session/{session_id}", {"archived": archived})
    assert response.status_code == 200
    return response.json


def adding_requests(session_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route that adds a turn to an existing conversation, with its body."""
    return [
        ("POST", "/api/v1/chat/message", {"sessionId": session_id, "message": "more"}),
        ("POST", "/api/v1/chat/message/stream", {"sessionId": session_id, "message": "more"}),
        ("POST", "/chat", {"user_id": "alice", "chat_id": session_id, "message": "more"}),
        ("POST", f"/api/sessions/{session_id}/messages", {"content": "more"}),
        ("POST", "/api/chat", {"sessionId": session_id, "message": "more"}),
    ]


def test_archived_conversation_refuses_every_new_turn(app: Flask, alice: ApiUser) -> None:
    """Each message route answers 410 ``SESSION_RESET``, stores nothing, and every read
    route still shows the conversation."""
    session_id = start_chat(alice, "hello")
    assert archive(alice, session_id)["archived"] is True

    for method, path, body in adding_requests(session_id):
        response = alice.call(method, path, body)
        assert response.status_code == 410, path
        assert response.json["code"] == "SESSION_RESET"
    assert count_stored(app) == (1, 2)
    assert len(alice.session(session_id).json["messages"]) == 2
    assert len(alice.call("GET", f"/api/sessions/{session_id}/messages").json) == 2
    assert len(alice.call("GET", f"/history/alice/{session_id}").json["history"]) == 2


def test_unarchiving_lifts_read_only(alice: ApiUser) -> None:
    """A reset conversation unarchived in ``/api/v1`` takes messages again."""
    session_id = start_chat(alice, "hello")
    alice.call("DELETE", f"/api/sessions/{session_id}")

    assert archive(alice, session_id, archived=False)["archived"] is False
    again = alice.call("POST", "/api/chat", {"sessionId": session_id, "message": "back"})

    assert again.status_code == 200
    assert alice.session(session_id).json["message_count"] == 4


def test_list_leaves_archived_out_unless_asked(alice: ApiUser) -> None:
    """``GET /api/v1/chat/sessions`` lists open conversations; ``archived=true`` the others."""
    kept = start_chat(alice, "kept")
    archived = start_chat(alice, "archived")
    archive(alice, archived)

    def ids(**query: Any) -> tuple[list[str], int]:
        """The listed ids and the total."""
        listing = alice.call("GET", "/api/v1/chat/sessions", query_string=query).json
        return [s["id"] for s in listing["sessions"]], listing["total"]

    assert ids() == ([kept], 1)
    assert ids(archived="false") == ([kept], 1)
    assert ids(archived="true") == ([archived], 1)
    listed = alice.call("GET", "/api/v1/chat/sessions", query_string={"archived": "true"})
    assert listed.json["sessions"][0]["archived"] is True


def test_archive_flag_is_validated_and_owned(alice: ApiUser, bob: ApiUser) -> None:
    """A non-boolean flag is a 400; another user's conversation is a 404; nothing changes."""
    session_id = start_chat(alice, "hello")

    bad = alice.call("PATCH", f"/api/v1/chat/session/{session_id}", {"archived": "yes"})
    assert bad.status_code == 400
    assert [d["field"] for d in bad.json["details"]] == ["archived"]
    theirs = bob.call("PATCH", f"/api/v1/chat/session/{session_id}", {"archived": True})
    assert theirs.status_code == 404
    assert alice.session(session_id).json["archived"] is False


def test_turn_lock_refuses_an_archived_conversation(app: Flask, alice: ApiUser) -> None:
    """Archived after a turn read the conversation but before it locked it: no lock, so a
    reset that races a message still wins."""
    session_id = start_chat(alice, "hello")
    with app.app_context():
        session = db.session.get(ChatSession, uuid.UUID(session_id))
        assert session is not None
        db.session.execute(update(ChatSession).values(archived=True))
        assert leases.acquire(session) is None
        db.session.rollback()


@pytest.mark.redis_limits
@pytest.mark.app_config(RATELIMIT_CHAT="3 per minute", RATELIMIT_SESSIONS="2 per minute")
def test_seed_routes_count_in_the_api_budgets(alice: ApiUser) -> None:
    """Messages on any route draw on one chat budget; session reads on one sessions budget."""
    session_id = start_chat(alice, "one")
    assert alice.call("POST", "/api/chat", {"prompt": "two"}).status_code == 200
    sent = alice.call("POST", f"/api/sessions/{session_id}/messages", {"content": "three"})
    assert sent.status_code == 200

    limited = alice.call("POST", "/api/chat", {"sessionId": session_id, "message": "four"})
    assert limited.status_code == 429
    assert alice.call("GET", "/api/v1/chat/sessions").status_code == 200
    assert alice.call("GET", f"/api/chat/history/{session_id}").status_code == 200
    assert alice.call("GET", "/api/users/alice/sessions").status_code == 429
