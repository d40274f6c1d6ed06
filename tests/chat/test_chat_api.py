"""The chat API with the offline model (no API key): messages, conversations, validation,
ownership."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from tests.support.clients import ApiUser
from tests.support.data import count_stored, start_chat

MISSING = str(uuid.UUID(int=1))


# --- sending messages ------------------------------------------------------------------------


def test_first_message_starts_a_conversation_with_the_offline_model(alice: ApiUser) -> None:
    """Without an API key the offline model answers, says so, and is named in the reply."""
    response = alice.send("Hello there, who are you?")

    assert response.status_code == 200
    body = response.json
    assert uuid.UUID(body["sessionId"])
    assert isinstance(body["messageId"], int)
    assert body["model"] == "offline"
    assert "Offline model" in body["response"]
    assert "not from Gemini" in body["response"]
    assert "GEMINI_API_KEY" in body["response"]
    assert "0 earlier turn(s)" in body["response"]
    assert body["timestamp"]
    assert body["title"] == "Hello there, who are you"


def test_offline_model_sees_the_whole_conversation(alice: ApiUser) -> None:
    """Each turn, the model receives two more earlier turns."""
    session_id = start_chat(alice, "one")
    replies = [alice.send(text, session_id).json["response"] for text in ("two", "three")]

    assert "2 earlier turn(s)" in replies[0]
    assert "4 earlier turn(s)" in replies[1]
    assert alice.session(session_id).json["message_count"] == 6


def test_one_off_prompt_stores_nothing(app: Flask, alice: ApiUser) -> None:
    """POST /api/v1/chat answers a prompt in seed 000's shape without a conversation."""
    response = alice.call("POST", "/api/v1/chat", {"prompt": "Explain recursion"})

    assert response.status_code == 200
    assert response.json["sources"] == []
    assert "Explain recursion" in response.json["text"]
    assert response.json["model"] == "offline"
    assert count_stored(app) == (0, 0)


def test_unknown_personality_is_404_and_stores_nothing(app: Flask, alice: ApiUser) -> None:
    """A personality that does not exist is refused before anything is stored."""
    response = alice.call("POST", "/api/v1/chat/message", {"message": "hi", "personalityId": "x"})

    assert response.status_code == 404
    assert count_stored(app) == (0, 0)


# --- conversations -------------------------------------------------------------------------


def test_sessions_are_listed_newest_first_with_paging(alice: ApiUser, bob: ApiUser) -> None:
    """The list shows counts and the newest message, newest conversation first, paginated."""
    rome = start_chat(alice, "Trip to Rome", "What to eat?")
    paris = start_chat(alice, "Trip to Paris")
    empty = alice.call("POST", "/api/v1/chat/session").json["id"]
    start_chat(bob, "Bob's own trip")

    listing = alice.call("GET", "/api/v1/chat/sessions").json
    assert listing["total"] == 3
    assert [s["id"] for s in listing["sessions"]] == [empty, paris, rome]
    first_rome = listing["sessions"][2]
    assert first_rome["message_count"] == 4
    assert first_rome["last_message"].startswith("**Offline model.**")
    assert listing["sessions"][0]["message_count"] == 0
    assert listing["sessions"][0]["last_message"] is None

    page = alice.call("GET", "/api/v1/chat/sessions", query_string={"limit": 1, "offset": 1})
    assert page.json["total"] == 3
    assert [s["id"] for s in page.json["sessions"]] == [paris]


def test_sessions_filter_by_title(alice: ApiUser) -> None:
    """``q`` matches titles case-insensitively and treats wildcards literally."""
    rome = start_chat(alice, "Trip to Rome")
    start_chat(alice, "Trip to Paris")
    start_chat(alice, "Discount of 100_% today")

    def search(q: str) -> list[str]:
        listing = alice.call("GET", "/api/v1/chat/sessions", query_string={"q": q}).json
        return [s["title"] for s in listing["sessions"]]

    assert search("ROME") == ["Trip to Rome"]
    assert sorted(search("trip")) == ["Trip to Paris", "Trip to Rome"]
    assert search("_%") == ["Discount of 100_% today"]
    assert search("o_e") == []
    assert alice.session(rome).json["title"] == "Trip to Rome"


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_sessions_bad_paging_is_400(alice: ApiUser, query: dict) -> None:
    """Out-of-range paging is a validation error naming the field."""
    response = alice.call("GET", "/api/v1/chat/sessions", query_string=query)

    assert response.status_code == 400
    assert response.json["code"] == "VALIDATION_ERROR"
    assert response.json["details"][0]["field"] == next(iter(query))


def test_session_shows_messages_with_roles_status_and_html(alice: ApiUser) -> None:
    """Messages come oldest first: the user's, then the assistant's, rendered safely."""
    session_id = start_chat(alice, "Say **hi** <script>alert(1)</script>")

    session = alice.session(session_id).json
    assert session["id"] == session_id
    assert session["has_more"] is False
    user, reply = session["messages"]
    assert (user["role"], reply["role"]) == ("user", "assistant")
    assert (user["status"], reply["status"]) == ("complete", "complete")
    assert user["content"] == "Say **hi** <script>alert(1)</script>"
    assert "<strong>hi</strong>" in user["html"]
    assert "<script>" not in user["html"]
    assert reply["model"] == "offline"
    assert user["model"] is None
    assert user["error_code"] is None
    assert user["id"] < reply["id"]
    assert user["timestamp"] <= reply["timestamp"]


def test_long_conversation_pages_backwards(alice: ApiUser) -> None:
    """``?limit=`` returns the newest messages; ``before=`` walks back to the first."""
    session_id = start_chat(alice, *(f"message {n}" for n in range(6)))
    everything = alice.session(session_id, limit=200).json["messages"]
    assert len(everything) == 12

    newest = alice.session(session_id, limit=5).json
    assert newest["messages"] == everything[7:]
    assert newest["has_more"] is True
    older = alice.session(session_id, limit=5, before=newest["messages"][0]["id"]).json
    assert older["messages"] == everything[2:7]
    oldest = alice.session(session_id, limit=5, before=older["messages"][0]["id"]).json
    assert oldest["messages"] == everything[:2]
    assert oldest["has_more"] is False


def test_paging_anchor_from_another_conversation_is_404(alice: ApiUser) -> None:
    """``before`` must name a message of this conversation."""
    first = start_chat(alice, "first")
    second = start_chat(alice, "second")
    anchor = alice.session(second).json["messages"][-1]["id"]

    assert alice.session(first, before=anchor).status_code == 404
    assert alice.session(first, before=0).status_code == 400
    assert alice.session(first, limit=201).status_code == 400


def test_user_title_is_never_overwritten(alice: ApiUser) -> None:
    """A conversation named by the user keeps its name through later turns."""
    session_id = alice.call("POST", "/api/v1/chat/session").json["id"]
    renamed = alice.call("PATCH", f"/api/v1/chat/session/{session_id}/title", {"title": " Mine "})
    assert renamed.status_code == 200
    assert renamed.json["title"] == "Mine"

    alice.send("An opening message that would make a title", session_id)
    assert alice.session(session_id).json["title"] == "Mine"


def test_rename_after_auto_title(alice: ApiUser) -> None:
    """The automatic title can be replaced, and the response dates are ISO 8601."""
    session_id = start_chat(alice, "Plan a garden")
    assert alice.session(session_id).json["title"] == "Plan a garden"

    renamed = alice.call("PATCH", f"/api/v1/chat/session/{session_id}/title", {"title": "Veg"})
    assert renamed.json["updated_at"] == alice.session(session_id).json["updated_at"]
    alice.send("and flowers?", session_id)
    assert alice.session(session_id).json["title"] == "Veg"


@pytest.mark.parametrize("body", [{"title": ""}, {"title": "   "}, {"title": "x" * 201}, {}])
def test_bad_title_is_400(alice: ApiUser, body: dict) -> None:
    """Blank or overlong titles are refused and the title is unchanged."""
    session_id = start_chat(alice, "Keep this title")
    response = alice.call("PATCH", f"/api/v1/chat/session/{session_id}/title", body)

    assert response.status_code == 400
    assert response.json["details"][0]["field"] == "title"
    assert alice.session(session_id).json["title"] == "Keep this title"


def test_delete_removes_the_conversation_and_its_messages(app: Flask, alice: ApiUser) -> None:
    """A deleted conversation is gone from every view, messages included."""
    keep = start_chat(alice, "keep")
    gone = start_chat(alice, "delete me", "and me")

    response = alice.call("DELETE", f"/api/v1/chat/session/{gone}")
    assert response.status_code == 200
    assert response.json["id"] == gone
    assert alice.session(gone).status_code == 404
    assert alice.call("DELETE", f"/api/v1/chat/session/{gone}").status_code == 404
    listing = alice.call("GET", "/api/v1/chat/sessions").json
    assert [s["id"] for s in listing["sessions"]] == [keep]
    assert count_stored(app) == (1, 2)


# --- validation ------------------------------------------------------------------------------

INVALID = [
    pytest.param({}, "message", "missing", id="missing"),
    pytest.param({"message": ""}, "message", "string_too_short", id="empty"),
    pytest.param({"message": " \n\t "}, "message", "string_blank", id="blank"),
    pytest.param({"message": "x" * 101}, "message", "string_too_long", id="too-long"),
    pytest.param({"message": 5}, "message", "string_type", id="not-a-string"),
    pytest.param({"message": "hi", "extra": 1}, "extra", "extra_forbidden", id="extra-field"),
    pytest.param({"message": "hi", "sessionId": 7}, "sessionId", "string_type", id="id-type"),
    pytest.param(
        {"message": "hi", "sessionId": "not-a-uuid"}, "sessionId", "string_pattern_mismatch"
    ),
]


@pytest.mark.parametrize(("body", "field", "code"), INVALID)
def test_invalid_message_is_400_and_stores_nothing(
    app: Flask, alice: ApiUser, body: dict, field: str, code: str
) -> None:
    """Every rejection is in the error shape, names the field, and changes nothing."""
    app.config["CHAT_MAX_MESSAGE_CHARS"] = 100
    response = alice.call("POST", "/api/v1/chat/message", body)

    assert response.status_code == 400
    assert response.json["code"] == "VALIDATION_ERROR"
    assert {"field": field, "code": code} in [
        {"field": d["field"], "code": d["code"]} for d in response.json["details"]
    ]
    assert response.json["message"]
    assert count_stored(app) == (0, 0)


def test_message_at_the_limit_is_accepted(app: Flask, alice: ApiUser) -> None:
    """The configured maximum itself is allowed."""
    app.config["CHAT_MAX_MESSAGE_CHARS"] = 100
    assert alice.send("x" * 100).status_code == 200


def test_huge_body_is_413_and_stores_nothing(app: Flask, alice: ApiUser) -> None:
    """A body over MAX_CONTENT_LENGTH is refused before it is read."""
    response = alice.call("POST", "/api/v1/chat/message", {"message": "x" * 300_000})

    assert response.status_code == 413
    assert response.json["code"] == "REQUEST_ENTITY_TOO_LARGE"
    assert count_stored(app) == (0, 0)


def test_malformed_json_is_400(app: Flask, alice: ApiUser) -> None:
    """A broken JSON body is refused in the error shape."""
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = alice.client.post("/api/v1/chat/message", data="{oops", headers=headers)

    assert response.status_code == 400
    assert response.json["code"] == "MALFORMED_JSON"
    assert count_stored(app) == (0, 0)


def test_unknown_session_id_is_404_and_stores_nothing(app: Flask, alice: ApiUser) -> None:
    """A well-formed id that does not exist is a 404; no conversation is created."""
    response = alice.send("hi", MISSING)

    assert response.status_code == 404
    assert response.json["code"] == "NOT_FOUND"
    assert count_stored(app) == (0, 0)


# --- ownership -------------------------------------------------------------------------------


def routes(session_id: str) -> list[tuple[str, str, dict | None]]:
    """Every route that takes a conversation id, as alice would call it."""
    return [
        ("POST", "/api/v1/chat/message", {"message": "hi", "sessionId": session_id}),
        ("GET", f"/api/v1/chat/session/{session_id}", None),
        ("PATCH", f"/api/v1/chat/session/{session_id}/title", {"title": "stolen"}),
        ("DELETE", f"/api/v1/chat/session/{session_id}", None),
        ("POST", "/chat", {"user_id": "alice", "message": "hi", "chat_id": session_id}),
        ("GET", f"/history/alice/{session_id}", None),
    ]


def test_another_users_session_is_exactly_like_a_missing_one(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """On every route bob's conversation answers alice as a missing one would."""
    bobs = start_chat(bob, "bob's secret")
    before = bob.session(bobs).json

    for (method, path, body), (_, missing_path, missing_body) in zip(
        routes(bobs), routes(MISSING), strict=True
    ):
        theirs = alice.call(method, path, body)
        missing = alice.call(method, missing_path, missing_body)
        assert theirs.status_code == missing.status_code == 404, path
        assert theirs.json == missing.json, path

    assert bob.session(bobs).json == before
    assert count_stored(app) == (1, 2)
