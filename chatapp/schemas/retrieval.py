"""Retrieval: passages for scripts (``POST /api/v1/search``) and the sources of a reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from chatapp.schemas.common import NOT_BLANK, Out, Strict, integral

if TYPE_CHECKING:
    from chatapp.services.knowledge.retrieval import Passage
    from chatapp.services.knowledge.retrieval import Retrieval as Found

# A collection id in a body: a UUID, so a typo is a 400 naming the field, not a 404.
CollectionId = Annotated[
    str, Field(pattern=r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")
]
CollectionIds = Annotated[list[CollectionId], Field(max_length=50)]
Retrieval = Literal["hybrid", "fulltext", "vector"]


class SearchIn(Strict):
    """A passage search: all readable collections unless ``collectionIds`` narrows it."""

    query: str = Field(min_length=1, max_length=4000, pattern=NOT_BLANK)
    collectionIds: CollectionIds | None = None
    k: Annotated[int, Field(ge=1, le=50), BeforeValidator(integral)] | None = Field(
        None, description="Default RETRIEVAL_TOP_K"
    )


class SearchResult(Out):
    """A passage. ``snippet`` is plain text; ``score`` is the fused (RRF) score."""

    chunkId: int
    documentId: str
    collectionId: str
    title: str
    url: str | None = None
    snippet: str
    score: float
    retrieval: Retrieval = Field(
        description="Which search found it: both (hybrid), full-text or vector"
    )

    @classmethod
    def of(cls, passage: Passage) -> SearchResult:
        """A retrieved passage (its URL only if it is an http(s) one)."""
        return cls(
            chunkId=passage.chunk_id,
            documentId=str(passage.document_id),
            collectionId=str(passage.collection_id),
            title=passage.title,
            url=passage.link,
            snippet=passage.snippet,
            score=round(passage.score, 6),
            retrieval=passage.retrieval,
        )


class SearchOut(Out):
    """The best passages, best first, within the configured context budget.

    ``retrieval`` is ``fulltext`` when there was no vector search (no key, no vectors of
    the current model, or the embedding call failed: then ``retrievalError`` has its code).
    """

    omit_if_none = ("retrievalError",)

    results: list[SearchResult]
    retrieval: Literal["hybrid", "fulltext"]
    retrievalError: str | None = None

    @classmethod
    def of(cls, found: Found) -> SearchOut:
        """What one retrieval found, best first."""
        results = [SearchResult.of(passage) for passage in found.passages]
        return cls(results=results, retrieval=found.mode, retrievalError=found.error)


class Source(BaseModel):
    """A source of a reply: ``[index]`` in the reply refers to it."""

    index: int
    title: str
    url: str | None = Field(None, description="Only ever an http(s) URL")
    documentId: str | None = None
    collectionId: str | None = None
    snippet: str = Field(description="Plain text, never markup")
    score: float | None = None
    retrieval: Literal["hybrid", "fulltext", "vector", "web"]
    cited: bool = Field(description="The reply refers to it")


class GroundingInfo(BaseModel):
    """How a reply was grounded.

    ``retrieval`` is ``fulltext`` without vector search; ``retrievalError`` is the model's
    code when the query embedding failed (the turn still answered, from full-text);
    ``searchEntryPoint`` is Google's Search Suggestions HTML, to show isolated (sandboxed
    iframe), never inserted into a page.
    """

    retrieval: Literal["hybrid", "fulltext"] | None = None
    retrievalError: str | None = None
    searchEntryPoint: str | None = None
