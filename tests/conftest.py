"""Shared fixtures: an app on a real database (SQLite always, PostgreSQL when configured).

Set ``TEST_DATABASE_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1/test``) to
run every database test against PostgreSQL too; CI does. Without it those runs are skipped
with a reason. ``TEST_REDIS_URL`` (a Redis database the tests may flush) does the same for
the tests that need Redis.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests against it")
    yield POSTGRES_URL


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database, emptied before and after the test."""
    if not REDIS_URL:
        pytest.skip("Redis: set TEST_REDIS_URL to run the tests that need it")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Config for the ``app`` fixture on top of :func:`make_config`; override it in a module."""
    return {}


def build_app(database_url: str, fresh: bool = True, **overrides: Any) -> Flask:
    """An app on ``database_url``; ``fresh`` empties the database and adds alice and bob."""
    app = create_app(make_config(database_url, **overrides))
    if fresh:
        with app.app_context():
            _fresh_schema(database_url)
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


@pytest.fixture
def app(database_url: str, app_overrides: dict[str, Any]) -> Iterator[Flask]:
    """An app whose database has the current schema, and two users: alice and bob."""
    app = build_app(database_url, **app_overrides)
    yield app
    close_app(app)


@pytest.fixture(scope="session")
def wire_server() -> Iterator[GeminiWireServer]:
    """One local Gemini wire-format server for the whole run."""
    with GeminiWireServer() as server:
        yield server


@pytest.fixture
def wire(wire_server: GeminiWireServer) -> GeminiWireServer:
    """The wire server with nothing recorded or scripted."""
    wire_server.reset()
    return wire_server


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


@pytest.fixture
def wire_app(database_url: str, wire: GeminiWireServer) -> Iterator[Flask]:
    """Like ``app``, but the model is the real SDK talking to ``wire``."""
    app = build_app(database_url, **wire_config(wire))
    yield app
    close_app(app)


def _fresh_schema(database_url: str) -> None:
    """Create the tables; on PostgreSQL create them once and empty them for each test."""
    global _postgres_ready
    if database_url.startswith("sqlite"):
        db.create_all()
        return
    if not _postgres_ready:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        _postgres_ready = True
    tables = ", ".join(table.name for table in db.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client with no login."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """A CLI runner for ``flask`` commands."""
    return app.test_cli_runner()


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """Return the CSRF token a page embeds for this client's session."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Log in through the browser form, or get API headers for a user."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self._app = app
        self._client = client

    def login(self, username: str = "alice", password: str = PASSWORD) -> Any:
        """Log in through the form, as a browser would."""
        token = csrf_token(self._client)
        return self._client.post(
            "/auth/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def csrf_headers(self) -> dict[str, str]:
        """Headers a logged-in page's JavaScript sends on writes."""
        return {"X-CSRFToken": csrf_token(self._client, "/")}

    def headers(self, username: str = "alice") -> dict[str, str]:
        """``Authorization`` headers with a fresh API token of ``username``."""
        with self._app.app_context():
            user = accounts.find_user(username)
            assert user is not None
            _, secret = accounts.create_token(user, "test")
        return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    """Authentication helpers bound to ``client``."""
    return AuthActions(app, client)


class ApiUser:
    """Calls the JSON API as one user, authenticated by an API token."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        """Send one request with this user's token."""
        return self.client.open(path, method=method, json=json, headers=self.headers, **kwargs)

    def send(self, message: str, session_id: str | None = None) -> Any:
        """Send a chat message (a new conversation without ``session_id``)."""
        body = {"message": message}
        if session_id is not None:
            body["sessionId"] = session_id
        return self.call("POST", "/api/v1/chat/message", body)

    def session(self, session_id: str, **query: Any) -> Any:
        """Fetch one conversation with its messages."""
        return self.call("GET", f"/api/v1/chat/session/{session_id}", query_string=query)


@pytest.fixture
def alice(client: FlaskClient, auth: AuthActions) -> ApiUser:
    """alice, through the API with a token."""
    return ApiUser(client, auth.headers("alice"))


@pytest.fixture
def bob(client: FlaskClient, auth: AuthActions) -> ApiUser:
    """bob, through the API with a token."""
    return ApiUser(client, auth.headers("bob"))
