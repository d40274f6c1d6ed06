"""Who may read what: decided inside every query, never from ids a client supplies alone."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from chatapp.models import Collection, User


def readable_collections(user: User) -> Select[tuple[object]]:
    """A subquery of the ids of collections ``user`` may read: their own and shared ones."""
    return select(Collection.id).where(
        or_(Collection.owner_id == user.id, Collection.owner_id.is_(None))
    )
