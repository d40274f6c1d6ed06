"""Ids in paths and bodies: a malformed one is simply not found."""

from __future__ import annotations

import uuid


def parse_id(value: str | uuid.UUID) -> uuid.UUID | None:
    """Return the UUID in ``value``, or None if it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        return None
