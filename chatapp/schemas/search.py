"""Searching the caller's own messages (``GET /api/v1/chat/search``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from chatapp.schemas.chat import MessageItem
from chatapp.schemas.common import MAX_ID, NOT_BLANK, Out, Timestamp

if TYPE_CHECKING:
    from chatapp.services.chat.search import Hit

__all__ = ["SearchHit", "SearchQuery", "SearchResults"]


class SearchQuery(BaseModel):
    """A search over the caller's messages, and the page of hits wanted."""

    q: str = Field(
        min_length=1,
        max_length=200,
        pattern=NOT_BLANK,
        description='Words (all must match), "quoted phrases" and prefix* words; '
        "anything else is ignored",
    )
    limit: int = Field(20, ge=1, le=50)
    offset: int = Field(0, ge=0, le=MAX_ID)


class SearchHit(Out):
    """One message found, in the conversation ``sessionId``."""

    sessionId: str
    messageId: int
    title: str | None
    role: Literal["user", "assistant"]
    snippet: str = Field(description="Escaped text around the matches; matches in <mark>")
    timestamp: Timestamp
    score: float = Field(description="Relevance (bm25 or ts_rank): higher is better")

    @classmethod
    def of(cls, hit: Hit) -> SearchHit:
        """A hit as the API shows it."""
        return cls(
            sessionId=str(hit.session_id),
            messageId=hit.message_id,
            title=hit.title,
            role=MessageItem.ROLES[hit.role],
            snippet=hit.snippet,
            timestamp=hit.created_at,
            score=hit.score,
        )


class SearchResults(Out):
    """One page of the caller's messages matching a search, best first."""

    hits: list[SearchHit]
    total: int = Field(description="Messages matching in all")

    @classmethod
    def of(cls, hits: list[Hit], total: int) -> SearchResults:
        """A page of hits and the number of all matches."""
        return cls(hits=[SearchHit.of(hit) for hit in hits], total=total)
