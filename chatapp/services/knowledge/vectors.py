"""Embeddings: how a chunk's vector is stored, and the nearest-neighbour half of retrieval.

Vectors are unit length, so cosine similarity is their dot product. Only chunks of a
document's current generation, embedded with the current model and dimension, are searched.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from chatapp.models import Chunk


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
