"""``POST /api/v1/search``: passages for scripts, scoped to what the caller may read."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from tests.support.clients import ApiUser
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.knowledge import add_collection, add_document


def search(user: ApiUser, **body: object):
    """Call the search endpoint."""
    return user.call("POST", "/api/v1/search", body)


def test_search_returns_passages_with_their_origin(app: Flask, alice: ApiUser) -> None:
    """Each result names its chunk, document, collection, title, url and a text snippet."""
    notes = add_collection(app, "alice")
    doc = add_document(
        app, notes, "Herons", ["Grey herons nest in colonies."], url="https://example.org/h"
    )
    response = search(alice, query="heron colonies")
    assert response.status_code == 200
    body = response.json
    assert body["retrieval"] == "fulltext"
    [result] = body["results"]
    assert result["documentId"] == doc
    assert result["collectionId"] == notes
    assert result["title"] == "Herons"
    assert result["url"] == "https://example.org/h"
    assert result["snippet"] == "Grey herons nest in colonies."
    assert result["retrieval"] == "fulltext"
    assert isinstance(result["chunkId"], int) and result["score"] > 0


def test_search_never_shows_another_users_private_passages(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """bob's private collection is invisible to alice; by id it is a 404."""
    bobs = add_collection(app, "bob")
    add_document(app, bobs, "Bob's diary", ["my secret heron plans"])
    assert search(alice, query="secret heron plans").json["results"] == []
    assert len(search(bob, query="secret heron plans").json["results"]) == 1
    refused = search(alice, query="heron", collectionIds=[bobs])
    assert refused.status_code == 404
    assert refused.json["code"] == "COLLECTION_NOT_FOUND"
    assert "diary" not in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("ids", "status", "field"),
    [
        (["not-a-uuid"], 400, "collectionIds.0"),
        ([str(uuid.uuid4())], 404, None),
        ("one-id", 400, "collectionIds"),
        ([7], 400, "collectionIds.0"),
    ],
)
def test_forged_collection_ids_are_refused(
    app: Flask, alice: ApiUser, ids: object, status: int, field: str | None
) -> None:
    """Malformed ids are a 400 naming the field; unknown ones a 404."""
    response = search(alice, query="heron", collectionIds=ids)
    assert response.status_code == status
    if field:
        assert field in [detail["field"] for detail in response.json["details"]]
    else:
        assert response.json["code"] == "COLLECTION_NOT_FOUND"


def test_search_validates_query_and_k(alice: ApiUser) -> None:
    """A blank query or an out-of-range k is a 400."""
    assert search(alice, query="   ").status_code == 400
    assert search(alice, query="x", k=0).status_code == 400
    assert search(alice, query="x", k=51).status_code == 400
    assert alice.call("POST", "/api/v1/search", {}).status_code == 400


def test_k_limits_the_results(app: Flask, alice: ApiUser) -> None:
    """``k`` is the number of passages, across collections."""
    for name in ("A", "B"):
        collection = add_collection(app, "alice", name)
        for number in range(3):
            add_document(app, collection, f"{name}{number}", [f"kestrel {name} {number}"])
    assert len(search(alice, query="kestrel", k=4).json["results"]) == 4
    assert len(search(alice, query="kestrel").json["results"]) == 6


def test_search_needs_a_login(client) -> None:
    """Anonymous callers are refused."""
    assert client.post("/api/v1/search", json={"query": "x"}).status_code == 401


@pytest.mark.wire_model()
def test_search_reports_a_failed_embedding(app: Flask, wire: GeminiWireServer) -> None:
    """With a key but a failing embedding call: full-text results and the code."""
    from tests.support.clients import AuthActions

    client = app.test_client()
    alice = ApiUser(client, AuthActions(app, client).headers("alice"))
    notes = add_collection(app, "alice")
    add_document(app, notes, "Herons", ["heron nests"])
    assert search(alice, query="heron").json["retrieval"] == "hybrid"
    wire.embed_failure = Reply(status=429)
    body = search(alice, query="heron").json
    assert body["retrieval"] == "fulltext"
    assert body["retrievalError"] == "MODEL_RATE_LIMITED"
    assert [r["title"] for r in body["results"]] == ["Herons"]


def test_search_counts_in_the_chat_rate_limit(app: Flask, alice: ApiUser) -> None:
    """Searches and chat messages share one per-user counter."""
    app.config["RATELIMIT_CHAT"] = "3 per minute"
    assert search(alice, query="heron").status_code == 200
    assert alice.send("hello").status_code == 200
    assert search(alice, query="heron").status_code == 200
    refused = search(alice, query="heron")
    assert refused.status_code == 429
    assert alice.send("hello").status_code == 429
