"""Database setup: SQLite pragmas and the migrations folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from chatapp.extensions import db, migrate
from chatapp.models import UTCDateTime

# Imported for their DDL listeners: the full-text indexes and vectors exist after create_all.
from chatapp.services import fulltext
from chatapp.services.chat import search  # noqa: F401
from chatapp.services.knowledge import fulltext as knowledge_fulltext  # noqa: F401
from chatapp.services.knowledge import vector_schema

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work during a write; SQLite enforces foreign keys only when asked."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reads through a memory map instead of a system call per page: exact vector search
    # reads every candidate's 3 KB embedding (see services/knowledge/vectors.py).
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def render_item(kind: str, obj: Any, _context: Any) -> str | bool:
    """Render our column types as plain SQLAlchemy types in generated migrations."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def init_app(app: Flask) -> None:
    """Attach SQLAlchemy and Flask-Migrate to ``app``."""
    if not event.contains(Engine, "connect", set_sqlite_pragmas):
        event.listen(Engine, "connect", set_sqlite_pragmas)
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(MIGRATIONS),
        render_item=render_item,
        include_name=fulltext.include_name,
        include_object=vector_schema.include_object,
    )
