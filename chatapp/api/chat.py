"""Chat API (``/api/v1/chat``): messages, conversations, and one-off prompts."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas, sse
from chatapp.models import ChatSession
from chatapp.ratelimits import chat_limit, session_limit
from chatapp.services.chat import (
    branches,
    conversations,
    search,
    stops,
    streaming,
    summaries,
    turns,
)

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("chat", __name__, url_prefix="/v1/chat", abp_security=AUTH)
chat_tag = Tag(name="chat", description="Conversations with the model")
MODEL_ERRORS = schemas.errors(404, 409, 422, 502, 503, 504)
# A turn in an archived conversation is refused: 410 SESSION_RESET.
TURN_ERRORS = {**MODEL_ERRORS, **schemas.errors(410)}


@bp.post(
    "/message",
    tags=[chat_tag],
    responses={200: schemas.MessageOut, **schemas.BODY_ERRORS, **TURN_ERRORS},
)
@chat_limit
def send_message(body: schemas.MessageIn) -> dict[str, Any]:
    """Send a message and wait for the whole reply (omit sessionId to start a chat)."""
    reply = turns.send_message(
        g.user,
        body.message,
        body.sessionId,
        body.personalityId,
        body.collectionIds,
        body.webSearch,
    )
    return schemas.MessageOut.of(reply).body()


@bp.post(
    "/message/stream",
    tags=[chat_tag],
    responses={
        200: schemas.StreamEvent,
        **schemas.BODY_ERRORS,
        **schemas.errors(404, 409, 410, 429),
    },
)
@chat_limit
def stream_message(body: schemas.MessageIn) -> Response:
    """Send a message and stream the reply as server-sent events (see docs/streaming.md).

    Events: ``start``, ``content``…, then ``end`` (``stopped`` after a stop) or ``error``
    with the same codes as ``/chat/message``. Errors before the stream starts are
    ordinary JSON errors.
    """
    turn = turns.prepare_turn(
        g.user,
        body.message,
        body.sessionId,
        body.personalityId,
        body.collectionIds,
        body.webSearch,
    )
    return sse.event_response(streaming.stream_reply(turn))


@bp.post(
    "/session/<session_id>/stop",
    tags=[chat_tag],
    responses={200: schemas.StopOut, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@session_limit
def stop(path: schemas.SessionPath) -> dict[str, Any]:
    """Stop the reply being written in a conversation, from any worker.

    ``stopped`` is false (still a 200) when nothing was being written.
    """
    stopped = stops.request_stop(g.user, path.session_id)
    return schemas.StopOut(sessionId=path.session_id, stopped=stopped).body()


@bp.post(
    "",
    tags=[chat_tag],
    responses={200: schemas.PromptOut, **schemas.BODY_ERRORS, **MODEL_ERRORS},
)
@chat_limit
def prompt(body: schemas.PromptIn) -> dict[str, Any]:
    """Answer a one-off prompt without storing a conversation (seed 000).

    With ``collectionIds`` or ``webSearch`` the answer is grounded and cites ``sources``.
    """
    return answer_prompt(body.prompt, body.collectionIds, body.webSearch)


def answer_prompt(text: str, collection_ids: list[str] | None, web_search: bool) -> dict[str, Any]:
    """The one-off answer to a prompt (here and at seed 000's ``POST /api/chat``)."""
    answer = turns.one_off(g.user, text, collection_ids, web_search)
    return schemas.PromptOut(**answer).body()


@bp.post("/session", tags=[chat_tag], responses={201: schemas.SessionOut, **schemas.BODY_ERRORS})
@session_limit
def create_session() -> tuple[dict[str, Any], int]:
    """Start an empty conversation."""
    session = conversations.create_session(g.user)
    return schemas.SessionOut.of(session).body(), 201


@bp.get(
    "/sessions",
    tags=[chat_tag],
    responses={200: schemas.SessionList, **schemas.errors(400), **schemas.AUTHED_ERRORS},
)
@session_limit
def list_sessions(query: schemas.SessionQuery) -> dict[str, Any]:
    """List the caller's conversations, newest first (``limit``, ``offset``, ``q``).

    Archived conversations are left out; ``archived=true`` lists only them.
    """
    rows, total = conversations.list_sessions(
        g.user, query.limit, query.offset, query.q, query.archived
    )
    return schemas.SessionList.of(rows, total).body()


@bp.get(
    "/search",
    tags=[chat_tag],
    responses={200: schemas.SearchResults, **schemas.errors(400), **schemas.AUTHED_ERRORS},
)
@session_limit
def search_messages(query: schemas.SearchQuery) -> dict[str, Any]:
    """Search the text of the caller's own messages, best match first.

    All terms must match: words, ``"quoted phrases"`` and ``prefix*`` words; any other
    character is ignored (never a syntax error). Failed messages are not searched.
    """
    hits, total = search.search(g.user, query.q, query.limit, query.offset)
    return schemas.SearchResults.of(hits, total).body()


@bp.get(
    "/session/<session_id>",
    tags=[chat_tag],
    responses={200: schemas.SessionDetail, **schemas.errors(400, 404), **schemas.AUTHED_ERRORS},
)
@session_limit
def get_session(path: schemas.SessionPath, query: schemas.MessagesQuery) -> dict[str, Any]:
    """Return a conversation with its newest messages (older ones via ``before``)."""
    session = conversations.get_session(g.user, path.session_id)
    return session_detail(session, query.before, query.limit)


def session_detail(session: ChatSession, before: int | None, limit: int) -> dict[str, Any]:
    """A conversation with one page of its active path's messages."""
    messages, has_more = conversations.message_page(session, before, limit)
    items = schemas.MessageItem.page(conversations.with_siblings(session, messages))
    summary = schemas.SummaryOut.of(summaries.in_force(session.id))
    return schemas.SessionDetail.of(
        session, messages=items, has_more=has_more, summary=summary
    ).body()


@bp.delete(
    "/session/<session_id>",
    tags=[chat_tag],
    responses={200: schemas.Deleted, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@session_limit
def delete_session(path: schemas.SessionPath) -> dict[str, Any]:
    """Delete a conversation and all its messages."""
    key = conversations.delete_session(g.user, path.session_id)
    return schemas.Deleted(message="Session deleted successfully", id=str(key)).body()


@bp.patch(
    "/session/<session_id>",
    tags=[chat_tag],
    responses={200: schemas.SessionOut, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@session_limit
def update_session(path: schemas.SessionPath, body: schemas.GroundingIn) -> dict[str, Any]:
    """Choose the collections searched on each turn, turn web search on or off, and
    archive or unarchive the conversation (an archived one answers 410 ``SESSION_RESET``
    to new messages).

    A collection the caller may not read (or that does not exist) is a 404
    ``COLLECTION_NOT_FOUND``, and nothing changes.
    """
    session = conversations.update_session(
        g.user, path.session_id, body.collectionIds, body.webSearch, body.archived
    )
    return schemas.SessionOut.of(session).body()


@bp.patch(
    "/session/<session_id>/title",
    tags=[chat_tag],
    responses={200: schemas.TitleOut, **schemas.errors(404), **schemas.BODY_ERRORS},
)
@session_limit
def rename_session(path: schemas.SessionPath, body: schemas.TitleIn) -> dict[str, Any]:
    """Rename a conversation; automatic titles never overwrite this one."""
    session = conversations.rename_session(g.user, path.session_id, body.title)
    return schemas.TitleOut.of(session).body()


# --- branches: regenerate a reply, edit a message, switch between versions ------------------

BRANCH_ERRORS = {**schemas.BODY_ERRORS, **TURN_ERRORS, **schemas.errors(400)}


@bp.post(
    "/session/<session_id>/regenerate",
    tags=[chat_tag],
    responses={200: schemas.MessageOut, **BRANCH_ERRORS},
)
@chat_limit
def regenerate(path: schemas.SessionPath, body: schemas.BranchIn) -> dict[str, Any]:
    """Write a new reply to the message a reply answered (the old reply is kept as a
    sibling) and wait for it; the path through it becomes active.

    ``messageId`` must be a reply of this conversation (a user message: 400
    ``WRONG_MESSAGE_ROLE``; another conversation's: 404).
    """
    turn = branches.regenerate(g.user, path.session_id, body.messageId)
    return schemas.MessageOut.of(turns.answer(turn)).body()


@bp.post(
    "/session/<session_id>/regenerate/stream",
    tags=[chat_tag],
    responses={200: schemas.StreamEvent, **BRANCH_ERRORS},
)
@chat_limit
def regenerate_stream(path: schemas.SessionPath, body: schemas.BranchIn) -> Response:
    """``/regenerate``, the reply streamed as server-sent events like ``/chat/message/stream``."""
    turn = branches.regenerate(g.user, path.session_id, body.messageId)
    return sse.event_response(streaming.stream_reply(turn))


@bp.post(
    "/session/<session_id>/edit",
    tags=[chat_tag],
    responses={200: schemas.MessageOut, **BRANCH_ERRORS},
)
@chat_limit
def edit(path: schemas.SessionPath, body: schemas.EditIn) -> dict[str, Any]:
    """Send a new version of one of your messages (a sibling of it: what followed the old
    one stays on its branch) and wait for its reply; the new path becomes active.

    ``messageId`` must be a user message of this conversation (a reply: 400
    ``WRONG_MESSAGE_ROLE``; another conversation's: 404).
    """
    turn = branches.edit(g.user, path.session_id, body.messageId, body.message)
    return schemas.MessageOut.of(turns.answer(turn)).body()


@bp.post(
    "/session/<session_id>/edit/stream",
    tags=[chat_tag],
    responses={200: schemas.StreamEvent, **BRANCH_ERRORS},
)
@chat_limit
def edit_stream(path: schemas.SessionPath, body: schemas.EditIn) -> Response:
    """``/edit``, the reply streamed as server-sent events like ``/chat/message/stream``."""
    turn = branches.edit(g.user, path.session_id, body.messageId, body.message)
    return sse.event_response(streaming.stream_reply(turn))


@bp.post(
    "/session/<session_id>/switch",
    tags=[chat_tag],
    responses={200: schemas.SessionDetail, **schemas.BODY_ERRORS, **schemas.errors(404, 409, 410)},
)
@session_limit
def switch(path: schemas.SessionPath, body: schemas.BranchIn) -> dict[str, Any]:
    """Make the path through any message active (below it: the newest version at each
    step) and return the conversation like ``GET /chat/session/<id>``."""
    session = branches.switch(g.user, path.session_id, body.messageId)
    return session_detail(session, None, schemas.MessagesQuery().limit)
