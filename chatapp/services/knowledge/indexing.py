"""Indexing a document: chunks, embeddings in batches, and the atomic swap of generations.

A document's live chunks are those of its ``generation``. Indexing writes the chunks of
``generation + 1``, embeds them batch by batch (committing progress after each), then in
one transaction deletes every other generation and bumps ``generation``: a reader sees the
old set or the new one, never half. The work runs as an ``index_document`` job; a job
interrupted by a 429 or by its worker's death resumes with the batches already embedded.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm.exc import StaleDataError

from chatapp.extensions import db
from chatapp.gemini import Model, ModelError, get_model
from chatapp.models import Chunk, Document, utcnow
from chatapp.services import jobs
from chatapp.services.knowledge import vectors
from chatapp.services.knowledge.chunking import chunk_text

log = logging.getLogger(__name__)
INDEX_JOB = "index_document"
RATE_LIMITED = "MODEL_RATE_LIMITED"
MAX_BACKOFF = 600  # seconds


def queue_indexing(document: Document) -> None:
    """Mark ``document`` pending and queue its indexing (the caller commits)."""
    document.status = "pending"
    document.error_code = None
    document.error_message = None
    document.updated_at = utcnow()
    jobs.enqueue(INDEX_JOB, {"document_id": str(document.id)})


def run_index_job(ctx: jobs.JobContext) -> None:
    """The ``index_document`` job: index the document named in the payload."""
    try:
        index_document(uuid.UUID(ctx.payload["document_id"]), ctx)
    except StaleDataError:
        db.session.rollback()  # the document was deleted while it was being indexed
        log.info("Job %s: document deleted during indexing", ctx.id)


def index_document(document_id: uuid.UUID, ctx: jobs.JobContext | None = None) -> None:
    """Chunk, embed and publish one document; a deleted document is nothing to do."""
    document = db.session.get(Document, document_id, populate_existing=True)
    if document is None:
        return
    target = document.generation + 1
    _prepare(document, target)
    model = get_model()
    if model.can_embed:
        try:
            _embed(document, target, model, ctx)
        except ModelError as exc:
            db.session.rollback()
            if exc.code == RATE_LIMITED:
                attempts = ctx.attempts if ctx else 1
                delay = min(MAX_BACKOFF, (exc.retry_after or 30) * attempts)
                raise jobs.Retry(delay, exc.code) from exc
            fail(document_id, exc.code, exc.message)
            raise jobs.Abandon(exc.code) from exc
    _swap(document, target, embedded=model.can_embed)


def _prepare(document: Document, target: int) -> None:
    """Write the chunks of generation ``target``, or keep those a previous attempt wrote."""
    config = current_app.config
    pieces = chunk_text(
        document.text, config["CHUNK_SIZE"], config["CHUNK_OVERLAP"], document.pages
    )
    spans = [(p.start, p.end) for p in pieces]
    if _written_spans(document.id, target) != spans:
        db.session.execute(
            delete(Chunk).where(Chunk.document_id == document.id, Chunk.generation == target)
        )
        db.session.add_all(
            Chunk(
                document_id=document.id,
                collection_id=document.collection_id,
                generation=target,
                position=position,
                text=piece.text,
                start_char=piece.start,
                end_char=piece.end,
                page=piece.page,
            )
            for position, piece in enumerate(pieces)
        )
    document.status = "indexing"
    document.chunks_total = len(pieces)
    document.chunks_done = _embedded_count(document.id, target) if get_model().can_embed else 0
    document.updated_at = utcnow()
    db.session.commit()


def _written_spans(document_id: uuid.UUID, generation: int) -> list[tuple[int, int]]:
    """The offsets of the chunks already written for ``generation``, in order."""
    rows = db.session.execute(
        select(Chunk.start_char, Chunk.end_char)
        .where(Chunk.document_id == document_id, Chunk.generation == generation)
        .order_by(Chunk.position)
    )
    return [(start, end) for start, end in rows]


def _current(model: Model) -> Any:
    """Chunks embedded with the configured model and dimension."""
    return (Chunk.embedding_model == model.embedding_model) & (
        Chunk.embedding_dim == model.embedding_dim
    )


def _embedded_count(document_id: uuid.UUID, generation: int) -> int:
    """How many chunks of ``generation`` already have a current embedding."""
    model = get_model()
    return db.session.scalar(
        select(func.count())
        .select_from(Chunk)
        .where(Chunk.document_id == document_id, Chunk.generation == generation)
        .where(Chunk.embedding.is_not(None), _current(model))
    )


def _embed(document: Document, target: int, model: Model, ctx: jobs.JobContext | None) -> None:
    """Embed the chunks of ``target`` still lacking a current vector, a batch at a time."""
    size = max(1, int(current_app.config["EMBEDDING_BATCH"]))
    stale = or_(Chunk.embedding.is_(None), ~_current(model))
    query = (
        select(Chunk)
        .where(Chunk.document_id == document.id, Chunk.generation == target, stale)
        .order_by(Chunk.position)
        .limit(size)
    )
    while batch := list(db.session.scalars(query)):
        values = model.embed([chunk.text for chunk in batch], "RETRIEVAL_DOCUMENT")
        for chunk, vector in zip(batch, values, strict=True):
            vectors.set_embedding(chunk, vector, model.embedding_model)
        document.chunks_done = min(document.chunks_total, document.chunks_done + len(batch))
        document.updated_at = utcnow()
        db.session.commit()
        if ctx is not None:
            ctx.heartbeat()


def _swap(document: Document, target: int, embedded: bool) -> None:
    """Publish generation ``target`` and drop every other one, in one transaction."""
    db.session.execute(
        delete(Chunk).where(Chunk.document_id == document.id, Chunk.generation != target)
    )
    document.generation = target
    document.status = "ready"
    document.embedded = embedded
    document.chunks_done = document.chunks_total
    document.error_code = None
    document.error_message = None
    document.updated_at = utcnow()
    db.session.commit()


def fail(document_id: uuid.UUID, code: str, message: str) -> None:
    """Record that indexing failed; the unpublished chunks go, the live ones stay."""
    document = db.session.get(Document, document_id, populate_existing=True)
    if document is None:
        return
    db.session.execute(
        delete(Chunk).where(
            Chunk.document_id == document.id, Chunk.generation > document.generation
        )
    )
    document.status = "failed"
    document.error_code = code
    document.error_message = message
    document.chunks_done = 0
    document.updated_at = utcnow()
    db.session.commit()


def give_up(payload: dict[str, Any], reason: str) -> None:
    """A job that failed unexpectedly (or too often) leaves its document failed, retryable."""
    fail(uuid.UUID(payload["document_id"]), "INDEXING_FAILED", f"Indexing failed: {reason}")


jobs.register(INDEX_JOB, run_index_job, give_up)
