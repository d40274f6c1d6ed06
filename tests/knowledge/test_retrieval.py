"""Retrieval in the database: full-text, vector, fused; access, liveness, k and budget.

Every test runs on SQLite and PostgreSQL. ``app`` is keyless (full-text only);
``app`` embeds queries with the real SDK against the local wire server, whose
embeddings make texts that share words similar.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import delete, update

from chatapp.extensions import db
from chatapp.models import Chunk, Document
from chatapp.services import accounts
from chatapp.services.knowledge import fulltext, retrieval, vectors
from tests.support.gemini_wire import GeminiWireServer, Reply, embedding
from tests.support.knowledge import add_chunks, add_collection, add_document

FTS_SYNTAX = [
    '"unclosed',
    "fox AND",
    "NOT fox",
    "fox OR OR",
    "NEAR(fox brown",
    "title:fox",
    "fox*",
    "^fox",
    "(fox",
    "fox) -- ; DROP TABLE chunks;",
    "' OR 1=1 --",
    "fox & | ! <-> :*",
    "***",
    "\\",
    "\x00fox",
]


def user(name: str):
    """The user called ``name`` (inside an app context)."""
    return accounts.find_user(name)


def titles(passages: list[retrieval.Passage]) -> list[str]:
    """The titles of retrieved passages, in order."""
    return [passage.title for passage in passages]


def test_fulltext_ranks_the_best_match_first(app: Flask) -> None:
    """More of the query's words (and rarer ones) rank higher; unrelated chunks are absent."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Foxes", ["The quick brown fox jumps over the fence."])
    add_document(app, notes, "Dogs", ["Lazy dogs sleep all afternoon."])
    add_document(app, notes, "Brown", ["A brown fence in the garden."])
    with app.app_context():
        hits = fulltext.search(user("alice"), "quick brown fox", None, 10)
        found = retrieval.retrieve(user("alice"), "quick brown fox", None)
    assert len(hits) == 2
    assert titles(found.passages) == ["Foxes", "Brown"]
    assert found.mode == "fulltext" and found.error is None
    assert {p.retrieval for p in found.passages} == {"fulltext"}


def test_fulltext_matches_word_forms(app: Flask) -> None:
    """Stemming: a query for "running" finds "runs" on both databases."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Runner", ["She runs every morning."])
    with app.app_context():
        assert titles(retrieval.retrieve(user("alice"), "running", None).passages) == ["Runner"]


@pytest.mark.parametrize("query", FTS_SYNTAX)
def test_query_syntax_is_harmless(app: Flask, query: str) -> None:
    """Whatever is typed is searched for as words: never an error, never an injection."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Foxes", ["The quick brown fox."])
    with app.app_context():
        found = retrieval.retrieve(user("alice"), query, None)
        assert db.session.query(Chunk).count() == 1
    expected = ["Foxes"] if "fox" in query.lower() else []
    assert titles(found.passages) == expected


def test_stop_words_alone_are_harmless(app: Flask) -> None:
    """A query of stop words (an empty tsquery on PostgreSQL) answers, without error."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Foxes", ["The quick brown fox."])
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "the of and", None)
    assert titles(found.passages) in ([], ["Foxes"])  # FTS5 keeps stop words


def test_another_users_private_chunks_never_come_back(app: Flask) -> None:
    """However many of bob's chunks match better, alice gets her k best and shared ones."""
    bobs = add_collection(app, "bob", "Bob's")
    for number in range(40):
        add_document(app, bobs, f"Bob {number}", [f"fox fox fox fox secret {number}"])
    alices = add_collection(app, "alice")
    shared = add_collection(app, None, "Shared")
    add_document(app, alices, "Alice fox", ["a fox in the notes of alice"])
    add_document(app, shared, "Shared fox", ["a fox everyone may read"])
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "fox secret", None, k=5)
        bob_view = retrieval.retrieve(user("bob"), "fox secret", None, k=50)
    assert sorted(titles(found.passages)) == ["Alice fox", "Shared fox"]
    assert "Alice fox" not in titles(bob_view.passages)
    assert len(bob_view.passages) == 41  # his 40 and the shared one


def test_one_global_top_k_across_collections(app: Flask) -> None:
    """k is for the whole search, not per collection or document; the best win."""
    first = add_collection(app, "alice", "First")
    second = add_collection(app, "alice", "Second")
    add_document(app, first, "Strong", ["solar solar solar panels", "solar panels roof"])
    add_document(app, first, "Weak", ["solar", "panels"])
    add_document(app, second, "Other", ["solar panels solar panels solar", "wind"])
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "solar panels", None, k=3)
        narrowed = retrieval.retrieve(user("alice"), "solar panels", [uuid.UUID(second)], k=3)
    assert len(found.passages) == 3
    assert "Weak" not in titles(found.passages)
    assert titles(narrowed.passages) == ["Other"]


def test_passages_stop_at_the_context_budget(app: Flask) -> None:
    """Only the best passages that fit RETRIEVAL_CONTEXT_TOKENS are kept."""
    notes = add_collection(app, "alice")
    long = "tide " * 400  # about 500 tokens each
    add_document(app, notes, "One", [long + "moon moon"])
    add_document(app, notes, "Two", [long + "moon"])
    add_document(app, notes, "Three", [long])
    app.config["RETRIEVAL_CONTEXT_TOKENS"] = 1100
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "tide moon", None)
    assert titles(found.passages) == ["One", "Two"]


def test_only_live_chunks_are_found_and_deletion_is_immediate(app: Flask) -> None:
    """A re-index's new chunks count only once the generation moves; a deleted
    document is gone from the next search."""
    notes = add_collection(app, "alice")
    doc_id = add_document(app, notes, "Guide", ["old text about herons"])
    with app.app_context():
        document = db.session.get(Document, uuid.UUID(doc_id))
        add_chunks(document, ["new text about egrets"], document.generation + 1, False, None)
        db.session.commit()
        assert titles(retrieval.retrieve(user("alice"), "egrets", None).passages) == []
        assert titles(retrieval.retrieve(user("alice"), "herons", None).passages) == ["Guide"]
        old = document.generation
        db.session.execute(delete(Chunk).where(Chunk.generation == old))
        db.session.execute(update(Document).values(generation=old + 1))
        db.session.commit()
        assert titles(retrieval.retrieve(user("alice"), "egrets", None).passages) == ["Guide"]
        assert titles(retrieval.retrieve(user("alice"), "herons", None).passages) == []
        db.session.delete(db.session.get(Document, uuid.UUID(doc_id)))
        db.session.commit()
        assert retrieval.retrieve(user("alice"), "egrets", None).passages == []
        assert db.session.query(Chunk).count() == 0


def test_check_collections_refuses_what_the_user_may_not_read(app: Flask) -> None:
    """Own and shared ids pass; another user's and missing ones are one 404; junk a 400."""
    own = add_collection(app, "alice")
    shared = add_collection(app, None)
    bobs = add_collection(app, "bob")
    with app.app_context():
        alice = user("alice")
        assert retrieval.check_collections(alice, [own, shared, own]) == [
            uuid.UUID(own),
            uuid.UUID(shared),
        ]
        for forged in ([bobs], [own, bobs], [str(uuid.uuid4())]):
            with pytest.raises(retrieval.ApiError) as refused:
                retrieval.check_collections(alice, forged)
            assert (refused.value.status, refused.value.code) == (404, "COLLECTION_NOT_FOUND")
        with pytest.raises(retrieval.ApiError) as malformed:
            retrieval.check_collections(alice, ["not-an-id"])
        assert malformed.value.status == 400
        assert malformed.value.details[0]["field"] == "collectionIds.0"


@pytest.mark.wire_model()
def test_vector_search_ranks_shared_words_first(app: Flask) -> None:
    """The wire server's embeddings: more shared words, more similar."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Solar", ["solar panels on the roof"])
    add_document(app, notes, "Wind", ["wind turbines at sea"])
    add_document(app, notes, "Roof", ["a new roof"])
    with app.app_context():
        config = app.config
        query = embedding("solar panels roof", config["GEMINI_EMBEDDING_DIM"])
        hits = vectors.nearest(
            user("alice"),
            query,
            config["GEMINI_EMBEDDING_MODEL"],
            config["GEMINI_EMBEDDING_DIM"],
            None,
            3,
        )
        names = [db.session.get(Chunk, chunk_id).text for chunk_id, _ in hits]
    assert names == ["solar panels on the roof", "a new roof", "wind turbines at sea"]
    assert hits[0][1] > hits[1][1] > hits[2][1]


@pytest.mark.wire_model()
def test_hybrid_fuses_both_halves(app: Flask, wire: GeminiWireServer) -> None:
    """With a key, the query is embedded once and each result says which halves found it."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Both", ["heron nests by the river"])
    add_document(app, notes, "Vector only", ["egret"])
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "heron nests", None, k=2)
    assert found.mode == "hybrid"
    assert [(p.title, p.retrieval) for p in found.passages] == [
        ("Both", "hybrid"),
        ("Vector only", "vector"),
    ]
    embeds = [r for r in wire.requests if r.method_name == "batchEmbedContents"]
    assert len(embeds) == 1
    assert embeds[0].body["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


@pytest.mark.wire_model()
def test_vectors_of_another_model_are_not_used(app: Flask) -> None:
    """Without vectors of the current model, retrieval is full-text only and says so."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Old", ["heron nests"], model="old-embedding-model")
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "heron", None)
    assert found.mode == "fulltext"
    assert [(p.title, p.retrieval) for p in found.passages] == [("Old", "fulltext")]


@pytest.mark.wire_model()
def test_a_failed_embedding_falls_back_to_fulltext(app: Flask, wire: GeminiWireServer) -> None:
    """The embedding call fails: full-text results, with the model's code."""
    notes = add_collection(app, "alice")
    add_document(app, notes, "Herons", ["heron nests"])
    wire.embed_failure = Reply(status=503)
    with app.app_context():
        found = retrieval.retrieve(user("alice"), "heron", None)
    assert found.mode == "fulltext"
    assert found.error == "MODEL_UNAVAILABLE"
    assert titles(found.passages) == ["Herons"]
