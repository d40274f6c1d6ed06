"""Without an API key documents are indexed for full-text search only."""

from __future__ import annotations

from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Chunk
from tests.support.documents import new_collection, run_jobs


def test_offline_document_is_ready_without_vectors(app, alice):
    """No key: chunks are written and the document is ready, ``embedded: false``."""
    collection = new_collection(alice)
    text = "\n\n".join(f"Paragraph {n}. " + "text " * 60 for n in range(6))
    body = alice.call(
        "POST", f"/api/v1/collections/{collection}/documents", {"title": "T", "text": text}
    ).json
    run_jobs(app)
    document = alice.call("GET", f"/api/v1/documents/{body['id']}").json
    assert document["status"] == "ready" and document["embedded"] is False
    assert document["chunksTotal"] == document["chunksDone"] > 1
    with app.app_context():
        chunks = list(db.session.scalars(select(Chunk)))
        assert len(chunks) == document["chunksTotal"]
        assert {c.embedding for c in chunks} == {None}
