"""Grounded turns: passages for one turn only, numbered sources, clean citations, web search.

The real google-genai SDK talks to the local wire server (except the offline-model test);
every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from chatapp import gemini
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from tests.chat.test_chat_wire import contents, turns
from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import ApiUser
from tests.support.data import sse_events
from tests.support.gemini_wire import (
    GeminiWireServer,
    Recorded,
    Reply,
    content_text,
    grounding_metadata,
)
from tests.support.knowledge import add_collection, add_document

HERONS = "Grey herons nest in tall trees in colonies called heronries."
EGRETS = "Little egrets feed in shallow water."


# The app talks to the wire server through the SDK.
pytestmark = pytest.mark.wire_model()


@pytest.fixture
def birds(app: Flask) -> str:
    """alice's collection with two documents about birds; returns its id."""
    collection = add_collection(app, "alice", "Birds")
    add_document(app, collection, "Herons", [HERONS], url="https://example.org/herons")
    add_document(app, collection, "Egrets", [EGRETS])
    return collection


def system_of(record: Recorded) -> str:
    """The system instruction of a recorded request."""
    return content_text(record.body.get("systemInstruction"))


def send(user: ApiUser, message: str, **body: Any) -> Any:
    """Send a chat message with extra body fields."""
    return user.call("POST", "/api/v1/chat/message", {"message": message, **body})


def test_sources_on_the_reply_and_in_history(
    wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """The model gets numbered passages; [n] means sources[n-1]; dead markers are removed."""
    wire.script(Reply(text="Herons nest in colonies [1]. Egrets wade [2]. Owls [7]."))
    response = send(alice, "where do herons nest?", collectionIds=[birds])
    assert response.status_code == 200, response.json
    body = response.json
    assert body["response"] == "Herons nest in colonies [1]. Egrets wade [2]. Owls."
    sources = body["sources"]
    assert [s["title"] for s in sources] == ["Herons", "Egrets"]
    assert [s["index"] for s in sources] == [1, 2]
    assert all(s["cited"] for s in sources)
    assert sources[0]["url"] == "https://example.org/herons"
    assert sources[0]["snippet"] == HERONS
    assert sources[0]["collectionId"] == birds
    assert {s["retrieval"] for s in sources} <= {"hybrid", "vector", "fulltext"}
    assert body["grounding"] == {"retrieval": "hybrid"}

    system = system_of(turns(wire)[-1])
    assert f"[1] Herons\n{HERONS}" in system and "[2] Egrets" in system
    assert contents(turns(wire)[-1]) == [("user", "where do herons nest?")]

    session = alice.session(body["sessionId"]).json
    assert session["collectionIds"] == [birds]
    assert session["webSearch"] is False
    reply = session["messages"][-1]
    assert reply["sources"] == sources
    assert f'<a class="cite" href="#source-{reply["id"]}-1"' in reply["html"]
    assert "[7]" not in reply["html"]
    assert session["messages"][0]["content"] == "where do herons nest?"
    assert session["messages"][0]["sources"] == []


def test_uncited_sources_say_so(wire: GeminiWireServer, alice: ApiUser, birds: str) -> None:
    """``cited`` is false for a source the reply never refers to."""
    wire.script(Reply(text="Herons nest in colonies [2]."))
    sources = send(alice, "heron nest and egrets", collectionIds=[birds]).json["sources"]
    assert [s["cited"] for s in sources] == [False, True]


def test_passages_are_for_one_turn_only(
    app: Flask, database_url: str, wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """Later turns' histories hold what was said, never earlier passages, from any instance."""
    first = send(alice, "herons?", collectionIds=[birds]).json
    session_id = first["sessionId"]
    other = build_app(database_url, fresh=False, **wire_config(wire))
    try:
        bob_like = ApiUser(other.test_client(), alice.headers)
        second = bob_like.send("egrets?", session_id)
        assert second.status_code == 200, second.json
        third = alice.send("anything else?", session_id)
        assert third.status_code == 200
    finally:
        close_app(other)
    chat_turns = turns(wire)
    assert contents(chat_turns[-2]) == [
        ("user", "herons?"),
        ("model", first["response"]),
        ("user", "egrets?"),
    ]
    assert contents(chat_turns[-1]) == [
        *contents(chat_turns[-2]),
        ("model", second.json["response"]),
        ("user", "anything else?"),
    ]
    for record in chat_turns[1:]:
        assert all(HERONS not in text for _, text in contents(record))
    assert EGRETS in system_of(chat_turns[-2])  # each turn gets its own passages


def test_stream_end_event_carries_the_clean_reply_and_sources(
    wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """Markers split across chunks are cleaned in the stored reply and the end event."""
    wire.script(Reply(chunks=["Herons nest [", "1] and [", "9] wade [2", "]."]))
    response = alice.call(
        "POST",
        "/api/v1/chat/message/stream",
        {"message": "herons and egrets", "collectionIds": [birds]},
    )
    events = sse_events(response)
    end = events[-1]
    assert end["type"] == "end"
    assert end["content"] == "Herons nest [1] and wade [2]."
    assert sorted(s["title"] for s in end["sources"]) == ["Egrets", "Herons"]
    assert end["grounding"]["retrieval"] == "hybrid"
    stored = alice.session(events[0]["sessionId"]).json["messages"][-1]
    assert stored["content"] == end["content"]
    assert stored["sources"] == end["sources"]


def test_one_off_prompt_with_collections(
    wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """``POST /api/v1/chat`` grounds on the given collections; without them sources is []."""
    wire.script(Reply(text="They nest in trees [1] [3]."), Reply(text="Plain [1]."))
    grounded = alice.call("POST", "/api/v1/chat", {"prompt": "herons", "collectionIds": [birds]})
    assert grounded.status_code == 200, grounded.json
    assert grounded.json["text"] == "They nest in trees [1]."
    assert grounded.json["sources"][0]["title"] == "Herons"
    assert "[1] Herons" in system_of(turns(wire)[-1])
    plain = alice.call("POST", "/api/v1/chat", {"prompt": "herons"})
    assert plain.json["sources"] == []
    assert plain.json["text"] == "Plain [1]."  # not grounded: nothing to resolve or clean


def test_web_search_sources_join_the_numbering(
    app: Flask, wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """Google Search grounding: the tool is sent, web chunks follow the passages, markers are
    placed at the supported segments' ends, and the search suggestions come back."""
    sentence = "Herons live near water."
    wire.script(
        Reply(
            text=f"{sentence} They nest in colonies [1].",
            grounding=grounding_metadata(
                [("https://en.wikipedia.org/wiki/Heron", "wikipedia.org"), ("javascript:x", "x")],
                [(sentence, len(sentence.encode()), [0, 1])],
                entry_point='<div class="s" style="color:red">Heron search</div>',
            ),
        )
    )
    session_id = alice.call("POST", "/api/v1/chat/session").json["id"]
    patched = alice.call(
        "PATCH", f"/api/v1/chat/session/{session_id}", {"collectionIds": [birds], "webSearch": True}
    )
    assert patched.status_code == 200
    assert (patched.json["collectionIds"], patched.json["webSearch"]) == ([birds], True)
    body = alice.send("herons?", session_id).json
    assert turns(wire)[-1].body["tools"] == [{"googleSearch": {}}]
    assert body["response"] == f"{sentence}[3][4] They nest in colonies [1]."
    web = body["sources"][2:]
    assert [(s["index"], s["title"], s["retrieval"], s["cited"]) for s in web] == [
        (3, "wikipedia.org", "web", True),
        (4, "x", "web", True),
    ]
    assert web[0]["url"] == "https://en.wikipedia.org/wiki/Heron"
    assert web[0]["snippet"] == sentence
    assert "url" not in web[1]  # only http(s) URLs are ever links
    assert body["grounding"]["searchEntryPoint"].startswith('<div class="s"')
    history = alice.session(session_id).json["messages"][-1]
    assert history["grounding"]["searchEntryPoint"] == body["grounding"]["searchEntryPoint"]


def test_offline_model_names_what_it_found(app: Flask, alice: ApiUser, birds: str) -> None:
    """Without a key retrieval is full-text only, and the reply lists the titles it got."""
    app.extensions["gemini"].close()
    app.extensions["gemini"] = gemini.OfflineModel(delay=0)
    body = send(alice, "herons nest", collectionIds=[birds], webSearch=True).json
    assert "- Herons [1]" in body["response"]
    assert "Web search needs a Gemini key" in body["response"]
    assert body["grounding"] == {"retrieval": "fulltext"}
    assert [(s["title"], s["retrieval"], s["cited"]) for s in body["sources"]] == [
        ("Herons", "fulltext", True)
    ]
    nothing = send(alice, "zebras", sessionId=body["sessionId"]).json
    assert "found nothing" in nothing["response"]
    assert nothing["sources"] == []


def test_a_failed_embedding_still_answers_from_fulltext(
    wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """The reply comes; its grounding says full-text, with the embedding call's code."""
    wire.embed_failure = Reply(status=503)
    wire.script(Reply(text="Herons nest in colonies [1]."))
    body = send(alice, "herons", collectionIds=[birds]).json
    assert body["grounding"] == {"retrieval": "fulltext", "retrievalError": "MODEL_UNAVAILABLE"}
    assert [(s["title"], s["retrieval"]) for s in body["sources"]] == [("Herons", "fulltext")]
    assert body["response"] == "Herons nest in colonies [1]."


def test_forged_collection_ids_change_nothing(
    app: Flask, alice: ApiUser, bob: ApiUser, birds: str
) -> None:
    """Another user's or unknown collections are a 404 and are never stored or searched."""
    bobs = add_collection(app, "bob", "Bob's")
    for forged in ([bobs], [birds, bobs], [str(uuid.uuid4())]):
        response = send(alice, "herons", collectionIds=forged)
        assert (response.status_code, response.json["code"]) == (404, "COLLECTION_NOT_FOUND")
    assert send(alice, "herons", collectionIds=["nope"]).status_code == 400
    for path, key in (("/api/v1/chat", "prompt"), ("/api/v1/chat/message/stream", "message")):
        refused = alice.call("POST", path, {key: "herons", "collectionIds": [bobs]})
        assert (refused.status_code, refused.json["code"]) == (404, "COLLECTION_NOT_FOUND")
    with app.app_context():
        assert db.session.query(ChatSession).count() == 0
        assert db.session.query(ChatMessage).count() == 0
    session_id = alice.call("POST", "/api/v1/chat/session").json["id"]
    path = f"/api/v1/chat/session/{session_id}"
    assert alice.call("PATCH", path, {"collectionIds": [bobs]}).status_code == 404
    assert alice.call("PATCH", path, {"collectionIds": [birds], "webSearch": 1}).status_code == 400
    assert alice.session(session_id).json["collectionIds"] == []
    assert bob.call("PATCH", path, {"webSearch": True}).status_code == 404
    assert alice.session(session_id).json["webSearch"] is False


def test_a_deleted_document_is_no_longer_a_source(
    app: Flask, wire: GeminiWireServer, alice: ApiUser, birds: str
) -> None:
    """Deleting a document takes it out of the next turn at once."""
    session_id = send(alice, "herons", collectionIds=[birds]).json["sessionId"]
    with app.app_context():
        from chatapp.models import Document

        for document in db.session.query(Document).filter_by(title="Herons"):
            db.session.delete(document)
        db.session.commit()
    sources = alice.send("herons", session_id).json["sources"]
    assert "Herons" not in [s["title"] for s in sources]


def test_ungrounded_replies_keep_their_brackets(wire: GeminiWireServer, alice: ApiUser) -> None:
    """Without collections or web search a reply is stored as written."""
    wire.script(Reply(text="Use items[1] or see [2]."))
    body = alice.send("index?").json
    assert body["response"] == "Use items[1] or see [2]."
    assert body["sources"] == [] and body["grounding"] is None
