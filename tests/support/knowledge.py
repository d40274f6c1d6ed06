"""Builders for knowledge tests: collections, documents and live chunks, straight into the DB.

Chunks get the document's generation (so they are live) and, unless ``embed`` is false,
the wire server's embedding of their text under the configured embedding model.
"""

from __future__ import annotations

import hashlib
import uuid

from flask import Flask, current_app

from chatapp.extensions import db
from chatapp.models import Chunk, Collection, Document
from chatapp.services import accounts
from chatapp.services.knowledge import vectors
from tests.support.gemini_wire import embedding


def add_collection(app: Flask, owner: str | None, name: str = "Notes") -> str:
    """Create a collection of ``owner`` (None: shared); return its id."""
    with app.app_context():
        owner_id = accounts.find_user(owner).id if owner else None
        collection = Collection(owner_id=owner_id, name=name)
        db.session.add(collection)
        db.session.commit()
        return str(collection.id)


def add_document(
    app: Flask,
    collection_id: str,
    title: str,
    chunks: list[str],
    *,
    url: str | None = None,
    embed: bool = True,
    model: str | None = None,
) -> str:
    """Store a ready document with one live chunk per text; return its id."""
    with app.app_context():
        text = "\n\n".join(chunks)
        document = Document(
            collection_id=uuid.UUID(collection_id),
            title=title,
            url=url,
            mime_type="text/plain",
            content_hash=hashlib.sha256(f"{title}\n{text}".encode()).hexdigest(),
            text=text,
            status="ready",
            chunks_total=len(chunks),
            chunks_done=len(chunks),
            embedded=embed,
        )
        db.session.add(document)
        db.session.flush()
        add_chunks(document, chunks, document.generation, embed, model)
        db.session.commit()
        return str(document.id)


def add_chunks(
    document: Document, texts: list[str], generation: int, embed: bool, model: str | None
) -> list[Chunk]:
    """Add chunks of ``generation`` to ``document`` (caller commits)."""
    config = current_app.config
    model = model or config["GEMINI_EMBEDDING_MODEL"]
    added = []
    start = 0
    for position, text in enumerate(texts):
        chunk = Chunk(
            document_id=document.id,
            collection_id=document.collection_id,
            generation=generation,
            position=position,
            text=text,
            start_char=start,
            end_char=start + len(text),
        )
        if embed:
            vectors.set_embedding(chunk, embedding(text, config["GEMINI_EMBEDDING_DIM"]), model)
        db.session.add(chunk)
        added.append(chunk)
        start += len(text) + 2
    db.session.flush()
    return added
