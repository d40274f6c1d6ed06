"""Passage search for scripts: validated collection ids, then hybrid retrieval."""

from __future__ import annotations

from chatapp.models import User
from chatapp.services.knowledge import retrieval


def search_passages(
    user: User, query: str, collection_ids: list[str] | None, k: int | None
) -> retrieval.Retrieval:
    """The passages ``POST /api/v1/search`` answers with, and how they were found."""
    ids = None if collection_ids is None else retrieval.check_collections(user, collection_ids)
    return retrieval.retrieve(user, query, ids, k)
