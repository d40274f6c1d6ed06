"""Personalities: named system prompts for a conversation.

Built-in personalities (``user_id`` NULL) are seeded by the migration, visible to every
user and read-only (403 ``PERSONALITY_READ_ONLY``). A user's own personalities are theirs
alone: another user's is a 404, exactly like a missing one.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select

from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.models import Personality, User

# The migration that creates the table holds a frozen copy of these rows; a test keeps the
# two in step. seed_builtins() puts them into databases built without migrations (tests).
BUILTINS: list[dict[str, str]] = [
    {
        "id": "concise",
        "name": "Concise assistant",
        "system_prompt": (
            "You are a concise assistant. Answer in as few words as a complete, correct answer "
            "needs: lead with the answer, use short lists for steps, skip pleasantries and "
            "repetition, and ask one clarifying question only when the request is ambiguous."
        ),
    },
    {
        "id": "coach",
        "name": "Coach",
        "system_prompt": (
            "You are a supportive personal coach. Help the user set clear goals, break them "
            "into small next steps, notice progress, and stay motivated. Ask one focused "
            "question at a time, be warm but direct, and end with a concrete next action."
        ),
    },
    {
        "id": "tutor",
        "name": "Tutor",
        "system_prompt": (
            "You are a patient tutor. Explain ideas step by step from what the user already "
            "knows, use small examples, check understanding with a short question, and guide "
            "the user to work answers out rather than handing over the solution at once."
        ),
    },
]


def seed_builtins() -> None:
    """Insert any missing built-in personality (idempotent)."""
    for row in BUILTINS:
        if db.session.get(Personality, row["id"]) is None:
            db.session.add(Personality(user_id=None, **row))
    db.session.commit()


def list_personalities(user: User) -> list[Personality]:
    """Return the built-ins, then the user's own, each group oldest first."""
    return list(
        db.session.scalars(
            select(Personality)
            .where(or_(Personality.user_id.is_(None), Personality.user_id == user.id))
            .order_by(Personality.user_id.is_not(None), Personality.created_at, Personality.id)
        )
    )


def get_personality(user: User, personality_id: str) -> Personality:
    """Return a built-in or one of the user's own, or raise 404 (also for someone else's)."""
    personality = db.session.get(Personality, personality_id)
    if personality is None or personality.user_id not in (None, user.id):
        raise NotFound("Personality")
    return personality


def system_prompt_for(user: User, personality_id: str | None) -> str | None:
    """Return the system prompt of a personality the user may use (404 otherwise), or None
    when none is chosen."""
    return None if personality_id is None else get_personality(user, personality_id).system_prompt


def create_personality(user: User, name: str, system_prompt: str) -> Personality:
    """Create one of the user's own personalities."""
    personality = Personality(
        id=uuid.uuid4().hex, user_id=user.id, name=name.strip(), system_prompt=system_prompt
    )
    db.session.add(personality)
    db.session.commit()
    return personality


def _owned(user: User, personality_id: str) -> Personality:
    """Return one of the user's own personalities; a built-in is read-only (403)."""
    personality = get_personality(user, personality_id)
    if personality.user_id is None:
        raise ApiError(
            403,
            "PERSONALITY_READ_ONLY",
            "Built-in personalities cannot be changed; create your own instead.",
        )
    return personality


def update_personality(
    user: User, personality_id: str, name: str | None, system_prompt: str | None
) -> Personality:
    """Change the name and/or system prompt of one of the user's own personalities.

    Conversations that already use it keep the prompt they were started with.
    """
    personality = _owned(user, personality_id)
    if name is not None:
        personality.name = name.strip()
    if system_prompt is not None:
        personality.system_prompt = system_prompt
    db.session.commit()
    return personality


def delete_personality(user: User, personality_id: str) -> str:
    """Delete one of the user's own personalities; conversations keep their prompt."""
    personality = _owned(user, personality_id)
    db.session.delete(personality)
    db.session.commit()
    return personality_id
