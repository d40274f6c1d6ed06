"""Where the bytes of uploaded files live: a :class:`FileStore`, chosen by ``FILES_STORE``.

The default, ``database``, keeps them in the ``file_blobs`` table, written in the same
transaction as the file's metadata: every host serving the app sees every file, and no
shared disk is needed. Another store may be added to :data:`STORES` only if it keeps that
property (object storage reachable from every host, for example); a per-host disk would
not.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy import delete, select

from chatapp.extensions import db
from chatapp.models import FileBlob


class FileStore(Protocol):
    """Keeps the bytes of files by file id."""

    def put(self, file_id: uuid.UUID, data: bytes) -> None:
        """Store ``data`` for ``file_id`` (within the caller's transaction when it can)."""

    def get(self, file_id: uuid.UUID) -> bytes | None:
        """The bytes of ``file_id``, or None when there are none."""

    def get_many(self, file_ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """The bytes of each of ``file_ids`` that has some, in one read."""

    def delete(self, file_ids: list[uuid.UUID]) -> None:
        """Forget the bytes of ``file_ids`` (within the caller's transaction when it can)."""


class DatabaseStore:
    """Bytes in the ``file_blobs`` table, one row per file, deleted with the file."""

    def put(self, file_id: uuid.UUID, data: bytes) -> None:
        """Add the row; the caller commits it with the file's metadata."""
        db.session.add(FileBlob(file_id=file_id, data=data))

    def get(self, file_id: uuid.UUID) -> bytes | None:
        """Read the row's bytes."""
        return db.session.scalar(select(FileBlob.data).where(FileBlob.file_id == file_id))

    def get_many(self, file_ids: list[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """Read the rows' bytes in one query."""
        rows = db.session.execute(
            select(FileBlob.file_id, FileBlob.data).where(FileBlob.file_id.in_(file_ids))
        )
        return {key: data for key, data in rows}

    def delete(self, file_ids: list[uuid.UUID]) -> None:
        """Delete the rows (the foreign key would cascade too; this says it outright)."""
        if file_ids:
            db.session.execute(delete(FileBlob).where(FileBlob.file_id.in_(file_ids)))


STORES: dict[str, type] = {"database": DatabaseStore}


def get_store() -> FileStore:
    """The store ``FILES_STORE`` names."""
    return STORES[current_app.config["FILES_STORE"]]()


def init_app(app: Flask) -> None:
    """Refuse to start with a ``FILES_STORE`` that is not known."""
    name = app.config["FILES_STORE"]
    if name not in STORES:
        raise RuntimeError(f"FILES_STORE={name!r} is not a file store; use one of {sorted(STORES)}")
