"""Database setup: SQLite pragmas and functions, and the migrations folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
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


def vec_dot(a: bytes | None, b: bytes | None) -> float | None:
    """The dot product of two float32 BLOBs (cosine similarity of unit vectors)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return float(np.dot(np.frombuffer(a, dtype="<f4"), np.frombuffer(b, dtype="<f4")))


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work during a write; SQLite enforces foreign keys only when asked.

    Also registers ``vec_dot`` so vector search runs inside SQLite's query.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.create_function("vec_dot", 2, vec_dot, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
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
