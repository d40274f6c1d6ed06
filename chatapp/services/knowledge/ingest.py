"""Operator ingestion: files and directories into a collection, and re-embedding.

Used by ``flask ingest`` and ``flask reindex``. A file already in the collection with the
same text is skipped; a file whose path is known but whose text changed is re-indexed in
place (its chunks swap atomically). One file's failure never stops the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from chatapp.errors import ApiError
from chatapp.extensions import db
from chatapp.gemini import get_model
from chatapp.ids import parse_id
from chatapp.models import Chunk, Collection, Document, User
from chatapp.services.knowledge import documents, extract, indexing

SUFFIXES = {suffix for suffixes in extract.SUPPORTED.values() for suffix in suffixes}


@dataclass
class Report:
    """What an ingestion did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # document ids to index

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.failed)} failed."
        )


def walk(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the supported files under the directories named, in order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUFFIXES
            )
        else:
            found.append(path)
    return found


def ingest_files(
    collection: Collection, files: list[Path], user: User | None, report: Report
) -> Iterator[Path]:
    """Add each file to ``collection``, yielding each one when done (for a progress bar)."""
    for path in files:
        try:
            _ingest_one(collection, path, user, report)
        except (ApiError, OSError) as exc:
            db.session.rollback()
            report.failed.append((str(path), getattr(exc, "message", None) or str(exc)))
        yield path


def _ingest_one(collection: Collection, path: Path, user: User | None, report: Report) -> None:
    """Add, update or skip one file."""
    data = path.read_bytes()
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    if len(data) > limit:
        raise documents.too_large(limit)
    found = extract.extract(data, path.name)
    source = str(path.resolve())
    known = db.session.scalars(
        select(Document).where(Document.collection_id == collection.id, Document.source == source)
    ).first()
    changed = known is not None and known.content_hash != documents.content_hash(found.text)
    if changed and _replace_text(known, found, len(data)):
        report.updated.append(str(path))
        report.queued.append(str(known.id))
        return
    fields = {"title": path.name, "url": None, "source": source, "size": len(data)}
    document, created = documents.add_extracted(user, collection, found, **fields)
    if created or document.status == "pending":
        report.queued.append(str(document.id))
    (report.added if created else report.unchanged).append(str(path))


def _replace_text(document: Document, found: extract.Extracted, size: int) -> bool:
    """Give a known file's document its new text and queue its re-indexing."""
    document.text = found.text
    document.content_hash = documents.content_hash(found.text)
    document.mime_type = found.mime_type
    document.pages = found.pages
    document.size = size
    indexing.queue_indexing(document)
    try:
        db.session.commit()
    except IntegrityError:  # the new text is already another document of the collection
        db.session.rollback()
        return False
    return True


def stale_documents() -> list[Document]:
    """Documents whose live chunks lack vectors of the configured model and dimension."""
    model = get_model()
    stale = (
        select(Chunk.id)
        .where(Chunk.document_id == Document.id, Chunk.generation == Document.generation)
        .where(
            or_(
                Chunk.embedding.is_(None),
                Chunk.embedding_model != model.embedding_model,
                Chunk.embedding_dim != model.embedding_dim,
            )
        )
    )
    query = (
        select(Document)
        .where(or_(exists(stale), Document.status == "failed"))
        .where(Document.status.not_in(documents.BUSY))
        .order_by(Document.created_at)
    )
    return list(db.session.scalars(query))


def queue_reindex(found: list[Document]) -> list[str]:
    """Queue the re-indexing of ``found``; return their ids."""
    for document in found:
        indexing.queue_indexing(document)
    db.session.commit()
    return [str(document.id) for document in found]


def failures(document_ids: list[str]) -> list[tuple[str, str]]:
    """``(title, reason)`` of the named documents whose indexing failed."""
    if not document_ids:
        return []
    keys = [parse_id(key) for key in document_ids]
    query = select(Document).where(Document.id.in_(keys), Document.status == "failed")
    return [
        (d.source or d.title, f"{d.error_code}: {d.error_message}")
        for d in db.session.scalars(query)
    ]
