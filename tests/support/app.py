"""Building test apps: configuration, a fresh database with alice and bob, and clean-up.

The fixtures in ``tests/conftest.py`` use these; so do the tests that run several app
instances (workers) on one database, and ``bench/``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import flask_migrate
from flask import Flask
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from chatapp import create_app
from chatapp.extensions import db
from chatapp.services import accounts
from chatapp.services.chat import personalities
from tests.support.gemini_wire import GeminiWireServer

PASSWORD = "correct horse battery staple"
# Hashing is deliberately slow, so it is done once per run.
PW_HASH = generate_password_hash(PASSWORD)
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
_postgres_ready = False


def free_port() -> int:
    """A TCP port on which nothing listens (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """Return the configuration of a test app on ``database_url``."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "GEMINI_API_KEY": "",
        **overrides,
    }


def wire_config(server: GeminiWireServer, **overrides: Any) -> dict[str, Any]:
    """Configuration pointing the real google-genai SDK at ``server``, failing fast."""
    return {
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": server.base_url,
        "GEMINI_MODEL": "gemini-test",
        "GEMINI_RETRIES": 1,
        "GEMINI_TIMEOUT": 2.0,
        **overrides,
    }


def build_app(database_url: str, fresh: bool = True, **overrides: Any) -> Flask:
    """An app on ``database_url``; ``fresh`` empties the database and adds alice and bob."""
    app = create_app(make_config(database_url, **overrides))
    if fresh:
        with app.app_context():
            fresh_schema(database_url)
            for name in ("alice", "bob"):
                accounts.create_user(name, f"{name}@example.com", "", password_hash=PW_HASH)
            personalities.seed_builtins()  # the migration seeds them; create_all does not
    return app


def close_app(app: Flask) -> None:
    """Release an app's model and database connections."""
    app.extensions["gemini"].close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def fresh_schema(database_url: str) -> None:
    """Create the tables; on PostgreSQL create them once and empty them for each test."""
    global _postgres_ready
    if database_url.startswith("sqlite"):
        db.create_all()
        return
    if not _postgres_ready:
        db.drop_all()
        db.create_all()
        _postgres_ready = True
    tables = ", ".join(table.name for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # Never migrated, as on SQLite: a test that stamps a revision leaves none behind.
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def stamp_schema(app: Flask) -> None:
    """Record the migrations' head as applied, as ``flask db stamp`` does: the tables
    ``create_all`` made are the head's."""
    with app.app_context():
        flask_migrate.stamp()
