"""Embeddings: how a chunk's vector is stored, and the nearest-neighbour half of retrieval.

Vectors are unit length, so cosine similarity is their dot product. Only chunks of a
document's current generation, embedded with the current model and dimension, are searched.
"""

from __future__ import annotations

import heapq
import struct
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import Chunk, Document, User
from chatapp.services.knowledge.access import searchable_chunks


def to_blob(values: Sequence[float]) -> bytes:
    """Pack a vector as little-endian float32."""
    return struct.pack(f"<{len(values)}f", *values)


def from_blob(blob: bytes) -> list[float]:
    """Unpack a vector stored by :func:`to_blob`."""
    return list(struct.unpack(f"<{len(blob) // 4}f", blob))


def set_embedding(chunk: Chunk, values: Sequence[float], model: str) -> None:
    """Give ``chunk`` its embedding, remembering the model and dimension it came from."""
    chunk.embedding = to_blob(values)
    chunk.embedding_model = model
    chunk.embedding_dim = len(values)


def nearest(
    user: User,
    query_vector: Sequence[float],
    model: str,
    dim: int,
    collection_ids: Sequence[uuid.UUID] | None,
    k: int,
) -> list[tuple[int, float]]:
    """The ``k`` chunks most similar to ``query_vector`` as ``(chunk id, similarity)``.

    A minimal exact search: access, liveness, model and dimension are decided in the SQL,
    and the rows stream through a k-sized heap, so memory grows with k only.
    """
    if k <= 0 or len(query_vector) != dim:
        return []
    rows = db.session.execute(
        select(Chunk.id, Chunk.embedding)
        .join(Document, Document.id == Chunk.document_id)
        .where(
            *searchable_chunks(user, collection_ids),
            Chunk.embedding_model == model,
            Chunk.embedding_dim == dim,
            Chunk.embedding.is_not(None),
        )
        .execution_options(yield_per=500)
    )
    scored = (
        (sum(a * b for a, b in zip(query_vector, from_blob(blob), strict=True)), int(chunk_id))
        for chunk_id, blob in rows
    )
    return [(chunk_id, score) for score, chunk_id in heapq.nlargest(k, scored)]
