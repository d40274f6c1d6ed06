"""Seeds 000 and 002's session APIs under ``/api``: views over the same conversations as
``/api/v1``, in those systems' shapes, with a Bearer token (or the login cookie) added.

``POST /api/sessions`` and ``POST /api/chat`` serve both seeds. Seed 002's reset
(``DELETE /api/sessions/<id>``) archives the conversation: readable, closed to new turns.
Each route counts in the same rate-limit budget as its ``/api/v1`` twin.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.api.chat import AUTH, TURN_ERRORS, answer_prompt
from chatapp.api.legacy import require_self
from chatapp.errors import NotFound, invalid
from chatapp.ratelimits import chat_limit, session_limit
from chatapp.services.chat import conversations, turns

bp = APIBlueprint("seeds", __name__, abp_security=AUTH)
seeds_tag = Tag(name="seeds 000 and 002", description="The session APIs of seeds 000 and 002")
READ_ERRORS = {**schemas.AUTHED_ERRORS, **schemas.errors(404)}


@bp.post(
    "/sessions",
    tags=[seeds_tag],
    responses={201: schemas.SeedSessionOut, **schemas.BODY_ERRORS, **schemas.errors(404)},
)
@session_limit
def create_session(body: schemas.SeedSessionIn) -> tuple[dict[str, Any], int]:
    """Start a conversation: seed 002's ``{}`` or seed 000's ``{"user_id", "title"}``."""
    if body.user_id is not None:
        require_self(body.user_id)
    session = conversations.create_session(g.user, body.title and body.title.strip())
    return schemas.SeedSessionOut.of(session).body(), 201


@bp.post(
    "/chat",
    tags=[seeds_tag],
    responses={200: schemas.SeedChatOut, **schemas.BODY_ERRORS, **TURN_ERRORS},
)
@chat_limit
def chat(body: schemas.SeedChatIn) -> dict[str, Any]:
    """Seed 000's one-off ``{"prompt"}`` (grounded with ``collectionIds``/``webSearch``), or
    seed 002's ``{"sessionId", "message"}``: a turn in that conversation."""
    problems = body.problems()
    if problems:
        raise invalid(problems)
    if body.prompt is not None:
        return answer_prompt(body.prompt, body.collectionIds, bool(body.webSearch))
    assert body.message is not None  # problems() said so
    reply = turns.send_message(
        g.user, body.message, body.sessionId, None, body.collectionIds, body.webSearch
    )
    return schemas.SeedReplyOut.of(reply).body()


@bp.post(
    "/sessions/<session_id>/messages",
    tags=[seeds_tag],
    responses={200: schemas.SeedMessageSent, **schemas.BODY_ERRORS, **TURN_ERRORS},
)
@chat_limit
def send_message(path: schemas.SessionPath, body: schemas.SeedMessageIn) -> dict[str, Any]:
    """Seed 000's message: a turn in the conversation; the stored reply comes back too."""
    reply = turns.send_message(g.user, body.content, path.session_id)
    return schemas.SeedMessageSent(reply=schemas.SeedMessage.of_reply(reply)).body()


@bp.get(
    "/sessions/<session_id>/messages",
    tags=[seeds_tag],
    responses={200: schemas.SeedMessages, **READ_ERRORS},
)
@session_limit
def messages(path: schemas.SessionPath) -> list[dict[str, Any]]:
    """Seed 000's messages of a conversation, oldest first."""
    session = conversations.get_session(g.user, path.session_id)
    return schemas.SeedMessages.of(conversations.stored_messages(session))


@bp.get(
    "/users/<user_id>/sessions",
    tags=[seeds_tag],
    responses={200: schemas.SeedUserSessions, **READ_ERRORS},
)
@session_limit
def user_sessions(path: schemas.LegacyUserPath) -> list[dict[str, Any]]:
    """Seed 000's conversations of the caller (``user_id``: username or id), newest first,
    each with its messages."""
    require_self(path.user_id)
    sessions = conversations.sessions_with_messages(g.user)
    return schemas.SeedUserSessions.of(sessions, path.user_id)


@bp.get(
    "/chat/history/<sessionId>",
    tags=[seeds_tag],
    responses={200: schemas.SeedHistory, **READ_ERRORS},
)
@session_limit
def history(path: schemas.SeedSessionPath) -> dict[str, Any]:
    """Seed 002's history of a conversation, archived or not."""
    try:
        session = conversations.get_session(g.user, path.sessionId)
    except NotFound:
        raise NotFound("Session or messages") from None
    return schemas.SeedHistory.of(session, conversations.stored_messages(session)).body()


@bp.delete(
    "/sessions/<sessionId>",
    tags=[seeds_tag],
    responses={200: schemas.Success, **schemas.BODY_ERRORS, **schemas.errors(404)},
)
@session_limit
def reset(path: schemas.SeedSessionPath) -> dict[str, Any]:
    """Seed 002's reset: the conversation is kept and archived, so later messages get 410
    ``SESSION_RESET``; its history stays readable (unarchive it in ``/api/v1``)."""
    conversations.update_session(g.user, path.sessionId, None, None, archived=True)
    return schemas.Success(success=True, message="Session deleted successfully").body()


@bp.get(
    "/sessions",
    tags=[seeds_tag],
    responses={200: schemas.ArchivedList, **schemas.AUTHED_ERRORS},
)
@session_limit
def archived(query: schemas.ArchivedQuery) -> dict[str, Any]:
    """Seed 002's previous sessions: the caller's archived conversations among
    ``sessionIds`` (none given: an empty list), newest first."""
    sessions, total = conversations.archived_among(g.user, query.ids(), query.limit, query.offset)
    return schemas.ArchivedList.of(sessions, total).body()
