"""Passage search for scripts: validated collection ids, then hybrid retrieval."""

from __future__ import annotations

from typing import Any

from chatapp.models import User
from chatapp.services.knowledge import retrieval


def search_passages(
    user: User, query: str, collection_ids: list[str] | None, k: int | None
) -> dict[str, Any]:
    """``{"results", "retrieval", "retrievalError"?}`` for ``POST /api/v1/search``."""
    ids = None if collection_ids is None else retrieval.check_collections(user, collection_ids)
    found = retrieval.retrieve(user, query, ids, k)
    result: dict[str, Any] = {
        "results": [passage.to_dict() for passage in found.passages],
        "retrieval": found.mode,
    }
    if found.error:
        result["retrievalError"] = found.error
    return result
