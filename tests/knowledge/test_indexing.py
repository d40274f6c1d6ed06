"""Indexing through the real SDK and the wire server: vectors, progress, failures, resumes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from chatapp.extensions import db
from chatapp.models import Chunk, Document, Job, utcnow
from chatapp.services import jobs
from chatapp.services.knowledge import indexing, vectors
from tests.support.documents import new_collection, run_jobs
from tests.support.gemini_wire import GeminiWireServer, Reply

# Seven paragraphs of about 100 characters: several chunks of at most ~200 characters.
TEXT = "\n\n".join(
    f"Paragraph {n} is about topic {n}: " + " ".join(f"word{n}x{i}" for i in range(12))
    for n in range(7)
)


@pytest.fixture
def app(embed_app: Flask) -> Flask:
    """Every test here embeds through the wire server."""
    return embed_app


def add(user, collection: str, text: str = TEXT, title: str = "Doc") -> dict:
    """Add a document as JSON; return its body."""
    response = user.call(
        "POST", f"/api/v1/collections/{collection}/documents", {"title": title, "text": text}
    )
    assert response.status_code in (200, 201), response.json
    return response.json


def embed_requests(wire: GeminiWireServer) -> list:
    """The embedding requests the wire server received."""
    return [r for r in wire.requests if r.method_name == "batchEmbedContents"]


def chunks_of(app: Flask, document_id: str) -> list[Chunk]:
    """Every stored chunk of a document, live or not, in order."""
    with app.app_context():
        query = select(Chunk).where(Chunk.document_id == uuid.UUID(document_id))
        rows = list(db.session.scalars(query.order_by(Chunk.generation, Chunk.position)))
        db.session.expunge_all()
        return rows


def test_upload_is_pending_then_ready_with_vectors(app, alice, wire):
    """The request answers pending; the job embeds every chunk in batches and publishes."""
    collection = new_collection(alice)
    body = add(alice, collection)
    assert body["status"] == "pending" and body["chunksDone"] == 0
    assert embed_requests(wire) == []  # nothing waited on the model
    assert run_jobs(app) == 1
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "ready" and document["embedded"] is True
    assert document["error"] is None
    chunks = chunks_of(app, body["id"])
    assert document["chunksTotal"] == document["chunksDone"] == len(chunks) > 3
    assert {c.embedding_model for c in chunks} == {"gemini-embedding-001"}
    assert {c.embedding_dim for c in chunks} == {16}
    for chunk in chunks:
        values = vectors.from_blob(chunk.embedding)
        assert len(values) == 16 and abs(sum(v * v for v in values) - 1) < 1e-3
    requests = embed_requests(wire)
    assert len(requests) == -(-len(chunks) // 3)  # batches of EMBEDDING_BATCH
    first = requests[0].body["requests"][0]
    assert first["taskType"] == "RETRIEVAL_DOCUMENT" and first["outputDimensionality"] == 16


def test_rate_limit_backs_off_and_resumes_with_batches_kept(app, alice, wire):
    """A 429 mid-way requeues the job; the next run embeds only what was left."""
    collection = new_collection(alice)
    wire.script_embeddings(Reply(), Reply(status=429))
    body = add(alice, collection)
    run_jobs(app)
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "indexing" and document["chunksDone"] == 3
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert job.state == "queued" and job.run_after > utcnow() + timedelta(seconds=10)
        assert job.error == "MODEL_RATE_LIMITED"
    assert run_jobs(app) == 0  # backing off: not due yet
    _make_due(app)
    assert run_jobs(app) == 1
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "ready" and document["chunksDone"] == document["chunksTotal"]
    sent = [len(r.body["requests"]) for r in embed_requests(wire)]
    assert sum(sent) == document["chunksTotal"] + 3  # the failed batch, sent twice; no more


def lapse_leases(app: Flask) -> None:
    """Let time pass: every running job's lease has lapsed (its worker is presumed dead)."""
    with app.app_context():
        db.session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _make_due(app: Flask) -> None:
    """Let time pass: every queued job is due now."""
    with app.app_context():
        db.session.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_model_failure_leaves_document_failed_and_retryable(app, alice, wire):
    """A 500 fails the document with chat's code, no chunks left; reindex then succeeds."""
    collection = new_collection(alice)
    wire.script_embeddings(Reply(), Reply(status=500))
    body = add(alice, collection)
    run_jobs(app)
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "failed"
    assert document["error"]["code"] == "MODEL_UNAVAILABLE"
    assert document["error"]["message"]
    assert chunks_of(app, body["id"]) == []  # never half-indexed
    with app.app_context():
        assert db.session.scalars(select(Job.state)).all() == ["failed"]
    again = alice.call("POST", f"/api/v1/documents/{body['id']}/reindex")
    assert again.status_code == 200 and again.json["status"] == "pending"
    assert again.json["error"] is None
    run_jobs(app)
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "ready" and document["embedded"] is True


def test_uploading_a_failed_document_again_retries_it(app, alice, wire):
    """The same content re-uploaded after a failure is the same document, queued again."""
    collection = new_collection(alice)
    wire.script_embeddings(Reply(status=400, message="bad"))
    first = add(alice, collection)
    run_jobs(app)
    assert alice.call("GET", f"/api/v1/documents/{first['id']}").json["status"] == "failed"
    second = alice.call(
        "POST", f"/api/v1/collections/{collection}/documents", {"title": "Doc", "text": TEXT}
    )
    assert second.status_code == 200 and second.json["id"] == first["id"]
    assert second.json["status"] == "pending"
    run_jobs(app)
    assert alice.call("GET", f"/api/v1/documents/{first['id']}").json["status"] == "ready"


class Died(Exception):
    """The worker process vanished mid-job (simulated)."""


def _die_after_first_batch(app: Flask, document_id: str) -> None:
    """Claim the document's job as a worker that dies after embedding one batch."""
    with app.app_context():
        ctx = jobs.claim("doomed-worker")
        assert ctx is not None

        def heartbeat() -> None:
            raise Died

        ctx.heartbeat = heartbeat  # type: ignore[method-assign]
        with pytest.raises(Died):
            indexing.index_document(uuid.UUID(document_id), ctx)
        db.session.remove()


def test_job_whose_lease_lapsed_is_resumed(app, alice, wire):
    """A worker dies mid-indexing: once its lease lapses another runner finishes the job."""
    collection = new_collection(alice)
    body = add(alice, collection)
    _die_after_first_batch(app, body["id"])
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "indexing" and document["chunksDone"] == 3
    assert run_jobs(app) == 0  # the lease still holds
    lapse_leases(app)
    assert run_jobs(app) == 1
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "ready" and document["chunksDone"] == document["chunksTotal"]
    sent = sum(len(r.body["requests"]) for r in embed_requests(wire))
    assert sent == document["chunksTotal"]  # the dead worker's batch was kept
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert (job.state, job.attempts) == ("done", 2) and job.worker != "doomed-worker"


def test_reindex_swaps_generations_atomically(app, alice, wire):
    """While a re-index runs the old chunks stay live; at the end only the new ones exist."""
    collection = new_collection(alice)
    body = add(alice, collection)
    run_jobs(app)
    old = chunks_of(app, body["id"])
    assert {c.generation for c in old} == {1}
    alice.call("POST", f"/api/v1/documents/{body['id']}/reindex")
    _die_after_first_batch(app, body["id"])
    assert _live_ids(app, body["id"]) == [c.id for c in old]
    assert len(chunks_of(app, body["id"])) == 2 * len(old)  # the new set, unpublished
    lapse_leases(app)
    run_jobs(app)
    new = chunks_of(app, body["id"])
    assert {c.generation for c in new} == {2} and len(new) == len(old)
    assert _live_ids(app, body["id"]) == [c.id for c in new]
    assert not {c.id for c in new} & {c.id for c in old}


def _live_ids(app: Flask, document_id: str) -> list[int]:
    """Ids of the chunks a search would see: those of the document's current generation."""
    with app.app_context():
        query = (
            select(Chunk.id)
            .join(Document, Document.id == Chunk.document_id)
            .where(Document.id == uuid.UUID(document_id))
            .where(Chunk.generation == Document.generation)
            .order_by(Chunk.position)
        )
        return list(db.session.scalars(query))


def test_delete_removes_chunks_and_vectors_at_once(app, alice):
    """Deleting a ready document leaves no chunk of it behind."""
    collection = new_collection(alice)
    body = add(alice, collection)
    run_jobs(app)
    assert chunks_of(app, body["id"])
    assert alice.call("DELETE", f"/api/v1/documents/{body['id']}").status_code == 200
    assert chunks_of(app, body["id"]) == []
    assert alice.call("GET", f"/api/v1/documents/{body['id']}").status_code == 404


def test_document_deleted_while_queued_or_indexing(app, alice):
    """A job whose document is gone ends quietly."""
    collection = new_collection(alice)
    body = add(alice, collection)
    alice.call("DELETE", f"/api/v1/documents/{body['id']}")
    assert run_jobs(app) == 1
    with app.app_context():
        assert db.session.scalars(select(Job.state)).all() == ["done"]


def test_a_job_that_keeps_dying_is_given_up(app, alice):
    """After too many claims the document is failed (retryable), never left indexing."""
    collection = new_collection(alice)
    body = add(alice, collection)
    with app.app_context():
        db.session.execute(update(Job).values(attempts=jobs.MAX_ATTEMPTS))
        db.session.commit()
    run_jobs(app)
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "failed" and document["error"]["code"] == "INDEXING_FAILED"
    with app.app_context():
        assert db.session.scalars(select(Job.state)).all() == ["failed"]
