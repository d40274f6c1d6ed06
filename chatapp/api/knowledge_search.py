"""Passage search (``POST /api/v1/search``): the knowledge a grounded turn would use."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.ratelimits import chat_limit
from chatapp.services.knowledge import search

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("knowledge_search", __name__, url_prefix="/v1/search", abp_security=AUTH)
tag = Tag(name="knowledge", description="Collections, documents and passage search")


@bp.post(
    "",
    tags=[tag],
    responses={200: schemas.SearchOut, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@chat_limit
def search_passages(body: schemas.SearchIn) -> dict[str, Any]:
    """The best passages for ``query`` in the caller's collections and shared ones.

    Counted in the chat rate limit (it may call the embedding model). ``collectionIds``
    narrows the search; one the caller may not read is a 404 ``COLLECTION_NOT_FOUND``.
    """
    found = search.search_passages(g.user, body.query, body.collectionIds, body.k)
    return schemas.SearchOut.of(found).body()
