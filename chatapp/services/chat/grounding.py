"""Grounded turns: retrieve for the user's message, number the sources, clean the reply.

Numbering is the server's: knowledge passages are ``[1]…[n]`` in retrieval order, then the
web sources of Google Search grounding follow. ``[k]`` in a stored reply always means
``sources[k-1]``; a marker that resolves to no source is removed (and counted in the log).
The passages go to the model for this turn only (in its system instruction); the stored
conversation holds what was said.

A failed query embedding does not fail the turn: retrieval falls back to full-text and the
reply's ``grounding`` says ``{"retrieval": "fulltext", "retrievalError": <code>}``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from chatapp import citations
from chatapp.extensions import db
from chatapp.gemini import Grounding, GroundingPassage, WebGrounding
from chatapp.ids import parse_id
from chatapp.models import User
from chatapp.schemas.retrieval import SearchResult
from chatapp.services.knowledge import retrieval
from chatapp.services.knowledge.retrieval import safe_url

log = logging.getLogger(__name__)


@dataclass
class TurnGrounding:
    """A turn's grounding: what the model is given, and the sources so far."""

    model_input: Grounding
    sources: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def parse_ids(stored: list[str] | None) -> list[uuid.UUID]:
    """A conversation's stored collection ids as UUIDs (unreadable ones are skipped)."""
    parsed = (parse_id(str(raw)) for raw in stored or [])
    return [key for key in parsed if key is not None]


def prepare(
    user_id: int, message: str, collection_ids: list[str] | None, web_search: bool
) -> TurnGrounding | None:
    """Retrieve for ``message``; None when the turn is not grounded at all.

    Access is decided again inside the search query, so a collection that stopped being
    readable since it was chosen simply contributes nothing.
    """
    ids = parse_ids(collection_ids)
    if not ids and not web_search:
        return None
    grounding = TurnGrounding(Grounding(web_search=web_search, searched=bool(ids)))
    if not ids:
        return grounding
    user = db.session.get(User, user_id)
    if user is None:
        return grounding
    found = retrieval.retrieve(user, message, ids)
    # End retrieval's read transaction: the model's answer may take seconds, and no pooled
    # connection may wait on it (streamed, whole and one-off answers alike).
    db.session.commit()
    grounding.meta["retrieval"] = found.mode
    if found.error:
        grounding.meta["retrievalError"] = found.error
    for index, passage in enumerate(found.passages, start=1):
        grounding.model_input.passages.append(GroundingPassage(index, passage.title, passage.text))
        grounding.sources.append(_knowledge_source(index, passage))
    return grounding


def _knowledge_source(index: int, passage: retrieval.Passage) -> dict[str, Any]:
    """A knowledge passage as a source of a reply (the search result's fields and its number)."""
    fields = SearchResult.of(passage).model_dump(mode="json", exclude_none=True)
    fields.pop("chunkId")
    return {"index": index, **fields}


def finish(
    grounding: TurnGrounding | None, text: str, web: WebGrounding | None
) -> tuple[str, list[dict[str, Any]] | None, dict[str, Any] | None]:
    """The reply to store: web markers inserted, dead markers removed, sources marked cited."""
    if grounding is None:
        return text, None, None
    sources = [dict(source) for source in grounding.sources]
    meta = dict(grounding.meta)
    if web is not None:
        text = _add_web(text, web, sources)
        if web.entry_point:
            meta["searchEntryPoint"] = web.entry_point
    text, removed = citations.clean(text, len(sources))
    if removed:
        log.info("Removed %d citation marker(s) that named no source", removed)
    used = citations.cited(text)
    for source in sources:
        source["cited"] = source["index"] in used
    return text, sources, meta or None


def _add_web(text: str, web: WebGrounding, sources: list[dict[str, Any]]) -> str:
    """Append web sources to ``sources`` and insert their markers where they support text."""
    offset = len(sources)
    snippets: dict[int, str] = {}
    for _, indices, segment in web.supports:
        for index in indices:
            snippets.setdefault(index, segment)
    for number, (uri, title) in enumerate(web.sources):
        source: dict[str, Any] = {
            "index": offset + number + 1,
            "title": title or uri,
            "snippet": " ".join(snippets.get(number, "").split()),
            "score": None,
            "retrieval": "web",
        }
        url = safe_url(uri)
        if url:
            source["url"] = url
        sources.append(source)
    supports = [(end, indices) for end, indices, _ in web.supports]
    return citations.insert_at(text, supports, offset)
