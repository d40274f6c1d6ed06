"""Seed 001's endpoints, kept for its users: same shapes, same authentication.

``user_id`` must name the caller (username or id); anyone else's is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.api.views import authenticate, reject_malformed_json
from chatapp.errors import NotFound
from chatapp.ratelimits import chat_limit, session_limit
from chatapp.services.chat import conversations, turns

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("legacy", __name__, abp_security=AUTH)
bp.before_request(reject_malformed_json)
bp.before_request(authenticate)
legacy_tag = Tag(name="seed 001", description="The original Gemini Chat API's endpoints")


def require_self(user_id: str | int) -> None:
    """Allow only the caller's own username or id."""
    if str(user_id) not in (g.user.username, str(g.user.id)):
        raise NotFound("User")


@bp.post(
    "/chat",
    tags=[legacy_tag],
    responses={
        200: schemas.LegacyChatOut,
        **schemas.BODY_ERRORS,
        **schemas.errors(404, 409, 410, 422, 502, 503, 504),
    },
)
@chat_limit
def legacy_chat(body: schemas.LegacyChatIn) -> dict[str, Any]:
    """Send a message; omitting chat_id starts a conversation."""
    require_self(body.user_id)
    reply = turns.send_message(g.user, body.message, body.chat_id)
    return schemas.LegacyChatOut(response=reply.content, chat_id=str(reply.session_id)).body()


@bp.get(
    "/history/<user_id>",
    tags=[legacy_tag],
    responses={200: schemas.LegacySessions, **schemas.errors(404), **schemas.AUTHED_ERRORS},
)
@session_limit
def legacy_sessions(path: schemas.LegacyUserPath) -> dict[str, Any]:
    """List the caller's conversation ids, newest first."""
    require_self(path.user_id)
    ids = conversations.session_ids(g.user)
    return schemas.LegacySessions(chat_sessions=[str(key) for key in ids]).body()


@bp.get(
    "/history/<user_id>/<chat_id>",
    tags=[legacy_tag],
    responses={200: schemas.LegacyHistory, **schemas.errors(404), **schemas.AUTHED_ERRORS},
)
@session_limit
def legacy_history(path: schemas.LegacyChatPath) -> dict[str, Any]:
    """Return a conversation's messages: ``{"role", "content"}`` and the usual fields."""
    require_self(path.user_id)
    session = conversations.get_session(g.user, path.chat_id)
    messages = conversations.stored_messages(session)
    history = schemas.LegacyTurn.page(conversations.with_siblings(session, messages))
    return schemas.LegacyHistory(history=history).body()
