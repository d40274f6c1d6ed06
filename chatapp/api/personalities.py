"""Personalities API (``/api/v1/personalities``): built-in and the caller's own."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from chatapp import schemas
from chatapp.services.chat import personalities

AUTH = [{"bearerAuth": []}, {"cookieAuth": []}]
bp = APIBlueprint("personalities", __name__, url_prefix="/v1/personalities", abp_security=AUTH)
tag = Tag(name="personalities", description="System prompts to start conversations with")
ONE = {200: schemas.PersonalityOut, **schemas.errors(404), **schemas.AUTHED_ERRORS}


@bp.get("", tags=[tag], responses={200: schemas.PersonalityList, **schemas.AUTHED_ERRORS})
def list_personalities() -> dict[str, Any]:
    """List the built-in personalities, then the caller's own."""
    return schemas.PersonalityList.of(personalities.list_personalities(g.user)).body()


@bp.post("", tags=[tag], responses={201: schemas.PersonalityOut, **schemas.BODY_ERRORS})
def create_personality(body: schemas.PersonalityIn) -> tuple[dict[str, Any], int]:
    """Create a personality of the caller's own."""
    personality = personalities.create_personality(g.user, body.name, body.system_prompt)
    return schemas.PersonalityOut.of(personality).body(), 201


@bp.get("/<personality_id>", tags=[tag], responses=ONE)
def get_personality(path: schemas.PersonalityPath) -> dict[str, Any]:
    """Return a built-in personality or one of the caller's own."""
    personality = personalities.get_personality(g.user, path.personality_id)
    return schemas.PersonalityOut.of(personality).body()


@bp.patch(
    "/<personality_id>",
    tags=[tag],
    responses={200: schemas.PersonalityOut, **schemas.errors(404), **schemas.BODY_ERRORS},
)
def update_personality(
    path: schemas.PersonalityPath, body: schemas.PersonalityUpdate
) -> dict[str, Any]:
    """Rename or rewrite one of the caller's personalities (built-ins: 403)."""
    personality = personalities.update_personality(
        g.user, path.personality_id, body.name, body.system_prompt
    )
    return schemas.PersonalityOut.of(personality).body()


@bp.delete(
    "/<personality_id>",
    tags=[tag],
    responses={200: schemas.Deleted, **schemas.errors(404), **schemas.BODY_ERRORS},
)
def delete_personality(path: schemas.PersonalityPath) -> dict[str, Any]:
    """Delete one of the caller's personalities (built-ins: 403); chats keep their prompt."""
    key = personalities.delete_personality(g.user, path.personality_id)
    return schemas.Deleted(message="Personality deleted", id=key).body()
