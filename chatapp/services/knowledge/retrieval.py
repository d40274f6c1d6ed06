"""Hybrid retrieval: full-text and vector search in the database, fused by reciprocal rank.

One global top ``k`` across every chosen collection, then only the passages that fit
``RETRIEVAL_CONTEXT_TOKENS``. Without embeddings (no key, no vectors of the current model,
or the embedding call failed) retrieval is full-text alone and says so: ``mode`` is
``"fulltext"`` and, after a failed embedding call, ``error`` holds the model's code.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from chatapp.errors import ApiError
from chatapp.extensions import db
from chatapp.gemini import Model, ModelError, get_model
from chatapp.gemini.base import estimate_tokens
from chatapp.models import Chunk, Collection, Document, User
from chatapp.services.knowledge import fulltext, vectors
from chatapp.services.knowledge.access import readable_collections, searchable_chunks

log = logging.getLogger(__name__)
RRF_K = 60  # the usual reciprocal-rank-fusion constant
DEPTH = 3  # each half returns DEPTH * k candidates for the fusion
SNIPPET_CHARS = 300
# Query embeddings run here while full-text search runs in the request's thread; threads
# are started as needed, up to this many calls at once per process (more wait their turn).
_EMBEDDING_CALLS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="query-embedding")


@dataclass
class Passage:
    """One retrieved chunk with where it came from."""

    chunk_id: int
    document_id: uuid.UUID
    collection_id: uuid.UUID
    title: str
    url: str | None
    text: str
    score: float
    retrieval: str  # "hybrid" (both halves found it), "fulltext" or "vector"

    @property
    def snippet(self) -> str:
        """A plain-text excerpt (pages show it as text, never as markup)."""
        return snippet(self.text)

    @property
    def link(self) -> str | None:
        """The document's URL if it is an http(s) one (nothing else is ever a link)."""
        return safe_url(self.url)


@dataclass
class Retrieval:
    """What one retrieval found and how: ``mode`` "hybrid" or "fulltext"."""

    passages: list[Passage]
    mode: str
    error: str | None = None


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None (nothing else is ever a link)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Collapse whitespace and cut at a word boundary near ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def check_collections(user: User, ids: Sequence[str]) -> list[uuid.UUID]:
    """Return ``ids`` as UUIDs if ``user`` may read every one; refuse them otherwise.

    A malformed id is a 400 naming ``collectionIds``; another user's or a missing
    collection is a 404 ``COLLECTION_NOT_FOUND`` (the same answer for both).
    """
    parsed: list[uuid.UUID] = []
    for index, raw in enumerate(ids):
        try:
            parsed.append(uuid.UUID(str(raw)))
        except ValueError:
            field = f"collectionIds.{index}"
            detail = {"field": field, "message": "Not a collection id", "code": "invalid_id"}
            raise ApiError(
                400, "VALIDATION_ERROR", f"Check this field: {field}.", details=[detail]
            ) from None
    unique = list(dict.fromkeys(parsed))
    found = set(
        db.session.scalars(
            select(Collection.id).where(
                Collection.id.in_(unique), Collection.id.in_(readable_collections(user))
            )
        )
    )
    if len(found) != len(unique):
        raise ApiError(404, "COLLECTION_NOT_FOUND", "Collection not found.")
    return unique


def retrieve(
    user: User, query: str, collection_ids: Sequence[uuid.UUID] | None, k: int | None = None
) -> Retrieval:
    """The best passages for ``query`` among the collections (all readable ones if None).

    The query's embedding is asked for first and arrives while full-text search runs.
    """
    k = k or current_app.config["RETRIEVAL_TOP_K"]
    depth = DEPTH * k
    model = get_model()
    embedding = _start_embedding(model, query)
    text_hits = fulltext.search(user, query, collection_ids, depth)
    vector_hits, error = _vector_half(user, model, embedding, collection_ids, depth)
    mode = "hybrid" if vector_hits else "fulltext"
    fused = fuse(text_hits, vector_hits)[:k]
    passages = _load(user, collection_ids, fused, text_hits, vector_hits, mode)
    return Retrieval(within_budget(passages), mode, error)


def _start_embedding(model: Model, query: str) -> Future[list[list[float]]] | None:
    """Ask for the query's embedding in the background (None: this model cannot embed)."""
    if not model.can_embed:
        return None
    return _EMBEDDING_CALLS.submit(model.embed, [query], "RETRIEVAL_QUERY")


def _vector_half(
    user: User,
    model: Model,
    embedding: Future[list[list[float]]] | None,
    collection_ids: Sequence[uuid.UUID] | None,
    depth: int,
) -> tuple[list[tuple[int, float]], str | None]:
    """Search vectors near the query's embedding; ``([], code)`` when the call failed."""
    if embedding is None:
        return [], None
    try:
        [vector] = embedding.result()
    except ModelError as exc:
        log.warning("Query embedding failed (%s): retrieval is full-text only", exc.code)
        return [], exc.code
    hits = vectors.nearest(
        user, vector, model.embedding_model, model.embedding_dim, collection_ids, depth
    )
    return hits, None


def fuse(*rankings: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each ranking adds ``1 / (RRF_K + rank)``; best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _load(
    user: User,
    collection_ids: Sequence[uuid.UUID] | None,
    fused: list[tuple[int, float]],
    text_hits: list[tuple[int, float]],
    vector_hits: list[tuple[int, float]],
    mode: str,
) -> list[Passage]:
    """Fetch the fused chunks (still readable and live) with their documents, in order."""
    if not fused:
        return []
    # Only the columns a passage shows: a whole Chunk would also read its 3 KB embedding.
    rows = db.session.execute(
        select(
            Chunk.id,
            Chunk.document_id,
            Chunk.collection_id,
            Document.title,
            Document.url,
            Chunk.text,
        )
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.id.in_([chunk_id for chunk_id, _ in fused]))
        .where(*searchable_chunks(user, collection_ids))
    )
    found = {row.id: row for row in rows}
    in_text = {chunk_id for chunk_id, _ in text_hits}
    in_vector = {chunk_id for chunk_id, _ in vector_hits}
    passages = []
    for chunk_id, score in fused:
        if chunk_id not in found:
            continue
        row = found[chunk_id]
        how = _how(chunk_id in in_text, chunk_id in in_vector, mode)
        passages.append(
            Passage(
                row.id, row.document_id, row.collection_id, row.title, row.url, row.text, score, how
            )
        )
    return passages


def _how(by_text: bool, by_vector: bool, mode: str) -> str:
    """Which halves found a passage: "hybrid" when both did."""
    if mode == "fulltext" or not by_vector:
        return "fulltext"
    return "hybrid" if by_text else "vector"


def within_budget(passages: list[Passage]) -> list[Passage]:
    """Keep passages, best first, while their text fits ``RETRIEVAL_CONTEXT_TOKENS``."""
    budget = current_app.config["RETRIEVAL_CONTEXT_TOKENS"]
    kept, used = [], 0
    for passage in passages:
        cost = estimate_tokens(passage.text)
        if used + cost > budget:
            break
        kept.append(passage)
        used += cost
    return kept
