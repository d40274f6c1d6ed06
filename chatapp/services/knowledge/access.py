"""Who may read what: decided inside every query, never from ids a client supplies alone."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select

from chatapp.models import Chunk, Collection, Document, User


def readable_collections(user: User) -> Select[tuple[object]]:
    """A subquery of the ids of collections ``user`` may read: their own and shared ones."""
    return select(Collection.id).where(
        or_(Collection.owner_id == user.id, Collection.owner_id.is_(None))
    )


def searchable_chunks(user: User, collection_ids: Sequence[uuid.UUID] | None) -> list[Any]:
    """WHERE clauses for chunks a search may return (the query joins ``Document``).

    Readable by ``user``, live (the document's current generation), and within
    ``collection_ids`` when given.
    """
    where: list[Any] = [
        Chunk.collection_id.in_(readable_collections(user)),
        Chunk.document_id == Document.id,
        Chunk.generation == Document.generation,
    ]
    if collection_ids is not None:
        where.append(Chunk.collection_id.in_(list(collection_ids)))
    return where
