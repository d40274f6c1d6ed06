"""Documents: adding (upload or text), listing, reading, re-indexing and deleting.

Adding extracts the text at once (so a bad file is refused with a clear 4xx and the same
content is recognised by its hash) and queues the indexing: the request answers with the
document ``pending`` while a job runner chunks and embeds it.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePath
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from chatapp import errors
from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.ids import parse_id
from chatapp.models import Chunk, Collection, Document, User
from chatapp.services import jobs
from chatapp.services.knowledge import extract, indexing
from chatapp.services.knowledge.collections import get_collection, writable_collection

BUSY = ("pending", "indexing")


def content_hash(text: str) -> str:
    """The SHA-256 of a document's extracted text: the same content is the same document."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_file(
    user: User,
    collection_id: str,
    data: bytes,
    filename: str | None,
    title: str | None = None,
    url: str | None = None,
) -> tuple[Document, bool]:
    """Add an uploaded file; return the document and whether it is new."""
    collection = writable_collection(user, collection_id)
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise too_large(limit)
    found = extract.extract(data, filename)
    name = PurePath(filename or "").name or None
    fields = {"title": title or name or "Untitled", "url": url, "source": name, "size": len(data)}
    return add_extracted(user, collection, found, **fields)


def too_large(limit: int) -> ApiError:
    """The 413 for a file past ``UPLOAD_MAX_BYTES``."""
    return errors.too_large(limit, "UPLOAD_MAX_BYTES")


def add_text(
    user: User, collection_id: str, title: str, text: str, url: str | None = None
) -> tuple[Document, bool]:
    """Add a document given as text; return the document and whether it is new."""
    collection = writable_collection(user, collection_id)
    found = extract.Extracted(extract.normalise_text(text), "text/plain")
    if not found.text:
        raise ApiError(422, "EMPTY_DOCUMENT", "The document has no text to index.")
    size = len(text.encode("utf-8"))
    return add_extracted(user, collection, found, title=title, url=url, source=None, size=size)


def add_extracted(
    user: User | None, collection: Collection, found: extract.Extracted, **fields: Any
) -> tuple[Document, bool]:
    """Store extracted text as a document and queue its indexing, unless it is there already.

    A document already in the collection with the same text is returned instead; if its
    indexing had failed, it is queued again (uploading again is a retry).
    """
    digest = content_hash(found.text)
    existing = _by_hash(collection.id, digest)
    if existing is not None:
        return _retry_if_failed(existing), False
    document = Document(
        collection_id=collection.id,
        content_hash=digest,
        text=found.text,
        mime_type=found.mime_type,
        pages=found.pages,
        created_by=user.id if user else None,
        **fields,
    )
    db.session.add(document)
    db.session.flush()
    indexing.queue_indexing(document)
    try:
        db.session.commit()
    except IntegrityError:  # the same content arrived at the same moment
        db.session.rollback()
        existing = _by_hash(collection.id, digest)
        if existing is None:
            raise
        return existing, False
    jobs.wake()
    return document, True


def _by_hash(collection_id: uuid.UUID, digest: str) -> Document | None:
    """The document of a collection with this content hash, if any."""
    query = select(Document).where(
        Document.collection_id == collection_id, Document.content_hash == digest
    )
    return db.session.scalars(query).first()


def _retry_if_failed(document: Document) -> Document:
    """Queue a failed document's indexing again."""
    if document.status == "failed":
        indexing.queue_indexing(document)
        db.session.commit()
        jobs.wake()
    return document


def list_documents(user: User, collection_id: str) -> tuple[Collection, list[Document]]:
    """A readable collection and its documents, newest first."""
    collection = get_collection(user, collection_id)
    query = (
        select(Document)
        .where(Document.collection_id == collection.id)
        .order_by(Document.created_at.desc(), Document.id)
    )
    return collection, list(db.session.scalars(query))


def get_document(user: User, document_id: str) -> Document:
    """A document of a collection ``user`` may read, or 404."""
    key = parse_id(document_id)
    document = db.session.get(Document, key) if key else None
    if document is None or document.collection.owner_id not in (None, user.id):
        raise NotFound("Document")
    return document


def _writable_document(user: User, document_id: str) -> Document:
    """A document ``user`` may change: 404 if unreadable, 403 if in a shared collection."""
    document = get_document(user, document_id)
    writable_collection(user, document.collection_id)
    return document


def delete_document(user: User, document_id: str) -> uuid.UUID:
    """Delete a document and every chunk and vector of it, in one transaction."""
    document = _writable_document(user, document_id)
    key = document.id
    db.session.execute(delete(Chunk).where(Chunk.document_id == key))
    db.session.delete(document)
    db.session.commit()
    return key


def reindex(user: User, document_id: str) -> Document:
    """Queue a document's indexing again (after a failure, or to re-embed it)."""
    document = _writable_document(user, document_id)
    if document.status not in BUSY:
        indexing.queue_indexing(document)
        db.session.commit()
        jobs.wake()
    return document
