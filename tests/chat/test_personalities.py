"""Personalities: built-ins, the caller's own, and their prompt on every turn."""

from __future__ import annotations

import pytest

from tests.support.gemini_wire import GeminiWireServer

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)


def _create(client, headers, name="Pirate", prompt="Talk like a pirate.") -> dict:
    """Create a personality and return it."""
    response = client.post(
        "/api/v1/personalities", json={"name": name, "system_prompt": prompt}, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def test_builtins_are_listed_then_own(client, auth) -> None:
    """Everyone sees the built-ins; their own follow; never another user's."""
    alice, bob = auth.headers("alice"), auth.headers("bob")
    _create(client, bob, name="Bob's own")
    mine = _create(client, alice)
    listed = client.get("/api/v1/personalities", headers=alice).json
    ids = [p["id"] for p in listed["personalities"]]
    assert ids == ["concise", "coach", "tutor", mine["id"]]
    assert listed["total"] == 4
    assert [p["builtin"] for p in listed["personalities"]] == [True, True, True, False]
    assert all(p["system_prompt"] for p in listed["personalities"])


def test_update_and_delete_own(client, auth) -> None:
    """The owner can rename, rewrite and delete their personality."""
    alice = auth.headers("alice")
    mine = _create(client, alice)
    url = f"/api/v1/personalities/{mine['id']}"
    response = client.patch(url, json={"name": "Captain"}, headers=alice)
    assert response.status_code == 200
    assert response.json["name"] == "Captain"
    assert response.json["system_prompt"] == "Talk like a pirate."
    response = client.patch(url, json={"system_prompt": "Arr."}, headers=alice)
    assert client.get(url, headers=alice).json["system_prompt"] == "Arr."
    assert client.delete(url, headers=alice).json == {
        "message": "Personality deleted",
        "id": mine["id"],
    }
    assert client.get(url, headers=alice).status_code == 404


def test_builtins_are_read_only(client, auth) -> None:
    """Changing or deleting a built-in is a 403 and changes nothing."""
    alice = auth.headers("alice")
    before = client.get("/api/v1/personalities/coach", headers=alice).json
    response = client.patch("/api/v1/personalities/coach", json={"name": "X"}, headers=alice)
    assert response.status_code == 403
    assert response.json["code"] == "PERSONALITY_READ_ONLY"
    assert client.delete("/api/v1/personalities/coach", headers=alice).status_code == 403
    assert client.get("/api/v1/personalities/coach", headers=alice).json == before


def test_another_users_personality_is_404(client, auth) -> None:
    """Bob cannot read, change, delete or chat with Alice's personality."""
    mine = _create(client, auth.headers("alice"))
    bob = auth.headers("bob")
    url = f"/api/v1/personalities/{mine['id']}"
    assert client.get(url, headers=bob).status_code == 404
    assert client.patch(url, json={"name": "X"}, headers=bob).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    response = client.post(
        "/api/v1/chat/message", json={"message": "hi", "personalityId": mine["id"]}, headers=bob
    )
    assert response.status_code == 404
    assert response.json["code"] == "NOT_FOUND"
    assert client.get(url, headers=auth.headers("alice")).json["name"] == "Pirate"


def test_invalid_bodies_are_400(client, auth) -> None:
    """Blank names, empty updates and unknown fields are validation errors."""
    alice = auth.headers("alice")
    for body in (
        {"name": " ", "system_prompt": "x"},
        {"name": "A"},
        {"name": "A", "system_prompt": "x", "extra": 1},
    ):
        response = client.post("/api/v1/personalities", json=body, headers=alice)
        assert response.status_code == 400, body
        assert response.json["code"] == "VALIDATION_ERROR"
    mine = _create(client, alice)
    response = client.patch(f"/api/v1/personalities/{mine['id']}", json={}, headers=alice)
    assert response.status_code == 400
    assert client.get("/api/v1/personalities", headers=alice).json["total"] == 4


def test_personality_is_the_system_instruction_of_every_turn(
    client, auth, wire: GeminiWireServer
) -> None:
    """personalityId sets the conversation's system instruction; later turns keep it."""
    alice = auth.headers("alice")
    coach = client.get("/api/v1/personalities/coach", headers=alice).json
    first = client.post(
        "/api/v1/chat/message", json={"message": "hi", "personalityId": "coach"}, headers=alice
    )
    assert first.status_code == 200, first.json
    session_id = first.json["sessionId"]
    client.post(
        "/api/v1/chat/message",
        json={"message": "and then?", "sessionId": session_id},
        headers=alice,
    )
    wanted = {("user", "hi"), ("user", "and then?")}
    # The other request is the one-off title, which has no personality.
    turns = [i for i in range(len(wire.requests)) if wire.contents(i)[-1] in wanted]
    assert [wire.system_instruction(i) for i in turns] == [coach["system_prompt"]] * 2
    assert wire.contents(turns[1])[0] == ("user", "hi")


def test_own_personality_prompt_is_sent(client, auth, wire: GeminiWireServer) -> None:
    """A user's own personality works like a built-in."""
    alice = auth.headers("alice")
    mine = _create(client, alice, prompt="Answer only in haiku.")
    response = client.post(
        "/api/v1/chat/message",
        json={"message": "hello", "personalityId": mine["id"]},
        headers=alice,
    )
    assert response.status_code == 200
    assert wire.system_instruction(0) == "Answer only in haiku."


def test_no_personality_sends_no_system_instruction(client, auth, wire: GeminiWireServer) -> None:
    """Without a personality the model gets no system instruction."""
    response = client.post(
        "/api/v1/chat/message", json={"message": "hello"}, headers=auth.headers()
    )
    assert response.status_code == 200
    assert wire.system_instruction(0) is None


def test_conversation_keeps_its_prompt_after_the_personality_goes(
    client, auth, wire: GeminiWireServer
) -> None:
    """The prompt is stored on the conversation: deleting the personality changes nothing."""
    alice = auth.headers("alice")
    mine = _create(client, alice, prompt="Be brief.")
    first = client.post(
        "/api/v1/chat/message", json={"message": "one", "personalityId": mine["id"]}, headers=alice
    ).json
    client.delete(f"/api/v1/personalities/{mine['id']}", headers=alice)
    again = client.post(
        "/api/v1/chat/message",
        json={"message": "two", "sessionId": first["sessionId"]},
        headers=alice,
    )
    assert again.status_code == 200
    assert wire.contents(-1)[-1] == ("user", "two")
    assert wire.system_instruction(-1) == "Be brief."


def test_streamed_turn_uses_the_personality(client, auth, wire: GeminiWireServer) -> None:
    """personalityId on /message/stream sets the system instruction too."""
    alice = auth.headers("alice")
    tutor = client.get("/api/v1/personalities/tutor", headers=alice).json
    response = client.post(
        "/api/v1/chat/message/stream",
        json={"message": "teach me", "personalityId": "tutor"},
        headers=alice,
    )
    assert response.status_code == 200
    assert '"type":"end"' in response.get_data(as_text=True)
    turn = next(i for i in range(len(wire.requests)) if wire.contents(i)[-1][1] == "teach me")
    assert wire.system_instruction(turn) == tutor["system_prompt"]
