"""Collections: a user's own (private) and shared ones (admins write, everyone reads).

Another user's private collection does not exist for the caller: every route answers 404.
A shared collection is readable by all; writing it without being an admin is a 403 (the
caller can see it, so hiding it would be a lie).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.ids import parse_id
from chatapp.models import Collection, Document, User, utcnow
from chatapp.services.knowledge.access import readable_collections


def get_collection(user: User, collection_id: str | uuid.UUID) -> Collection:
    """A collection ``user`` may read, or 404."""
    key = parse_id(collection_id)
    collection = db.session.get(Collection, key) if key else None
    if collection is None or collection.owner_id not in (None, user.id):
        raise NotFound("Collection")
    return collection


def may_write(user: User, collection: Collection) -> bool:
    """Whether ``user`` may change ``collection`` (its owner, or an admin for shared ones)."""
    if collection.owner_id is None:
        return bool(user.is_admin)
    return collection.owner_id == user.id


def writable_collection(user: User, collection_id: str | uuid.UUID) -> Collection:
    """A collection ``user`` may change: 404 if unreadable, 403 if shared and not an admin."""
    collection = get_collection(user, collection_id)
    if not may_write(user, collection):
        raise _admins_only()
    return collection


def _admins_only() -> ApiError:
    return ApiError(
        403, "ADMIN_REQUIRED", "Only administrators change shared collections.", error="Forbidden"
    )


def list_collections(user: User) -> list[Collection]:
    """The collections ``user`` may read: their own and shared ones, by name."""
    query = (
        select(Collection)
        .where(Collection.id.in_(readable_collections(user)))
        .order_by(Collection.name, Collection.created_at)
    )
    return list(db.session.scalars(query))


def create_collection(
    user: User, name: str, description: str | None = None, shared: bool = False
) -> Collection:
    """Create a collection; only admins create shared ones."""
    if shared and not user.is_admin:
        raise _admins_only()
    collection = Collection(
        owner_id=None if shared else user.id, name=name.strip(), description=description
    )
    db.session.add(collection)
    db.session.commit()
    return collection


def update_collection(user: User, collection_id: str, changes: dict[str, Any]) -> Collection:
    """Rename, describe, or (admins only) share or unshare a collection."""
    collection = writable_collection(user, collection_id)
    if "shared" in changes and changes["shared"] != (collection.owner_id is None):
        if not user.is_admin:
            raise _admins_only()
        collection.owner_id = None if changes["shared"] else user.id
    if changes.get("name") is not None:
        collection.name = changes["name"].strip()
    if "description" in changes:
        collection.description = changes["description"]
    collection.updated_at = utcnow()
    db.session.commit()
    return collection


def delete_collection(user: User, collection_id: str) -> uuid.UUID:
    """Delete a collection with its documents and their chunks."""
    collection = writable_collection(user, collection_id)
    key = collection.id
    db.session.delete(collection)
    db.session.commit()
    return key


def find_or_create(name: str, owner: User | None) -> Collection:
    """The collection called ``name`` of ``owner`` (None: shared), created if missing."""
    owner_id = owner.id if owner else None
    owned = Collection.owner_id.is_(None) if owner_id is None else Collection.owner_id == owner_id
    query = select(Collection).where(Collection.name == name, owned).order_by(Collection.created_at)
    collection = db.session.scalars(query).first()
    if collection is None:
        collection = Collection(owner_id=owner_id, name=name)
        db.session.add(collection)
        db.session.commit()
    return collection


def document_counts(collections: list[Collection]) -> dict[uuid.UUID, int]:
    """How many documents each collection holds."""
    if not collections:
        return {}
    rows = db.session.execute(
        select(Document.collection_id, func.count())
        .where(Document.collection_id.in_([c.id for c in collections]))
        .group_by(Document.collection_id)
    )
    return {key: count for key, count in rows}
