"""Shared fixtures: an app on a real database (SQLite always, PostgreSQL when configured).

Set ``TEST_DATABASE_URL`` (for example ``postgresql+psycopg://postgres@127.0.0.1/test``) to
run every database test against PostgreSQL too; CI does. Without it those runs are skipped
with a reason. ``TEST_REDIS_URL`` (a Redis database the tests may flush) does the same for
the tests that need Redis.

Each fixture name means one thing everywhere. A test (or module, through ``pytestmark``)
says how its ``app`` differs with markers, never by overriding a fixture:

- ``@pytest.mark.wire_model(**config)``: the model is the real SDK talking to ``wire``;
- ``@pytest.mark.redis_limits``: rate-limit counters (and ``REDIS_URL``) in the test Redis;
- ``@pytest.mark.app_config(**config)``: any other configuration.

Helpers (building apps, logging in, calling the API) are in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests.support.app import POSTGRES_URL, REDIS_URL, build_app, close_app, wire_config
from tests.support.clients import ApiUser, AuthActions
from tests.support.gemini_wire import GeminiWireServer
from tests.support.outage import DatabaseOutage


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or the PostgreSQL test database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests against it")
    yield POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables, never migrated): a new SQLite file, or a new
    PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL to run these tests against it")
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS migration_test CASCADE"))
        connection.execute(text("CREATE SCHEMA migration_test"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3Dmigration_test"
    with admin.begin() as connection:
        connection.execute(text("DROP SCHEMA migration_test CASCADE"))
    admin.dispose()


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
def outage(database_url: str) -> Iterator[DatabaseOutage]:
    """A switch that makes the database unreachable for the ``fragile`` app."""
    switch = DatabaseOutage(database_url)
    yield switch
    switch.close()


def marked_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The configuration the test's markers ask for (see the module docstring)."""
    config: dict[str, Any] = {}
    wire_model = request.node.get_closest_marker("wire_model")
    if wire_model is not None:
        config.update(wire_config(request.getfixturevalue("wire"), **wire_model.kwargs))
    if request.node.get_closest_marker("redis_limits") is not None:
        url = request.getfixturevalue("redis_url")
        config.update(REDIS_URL=url, RATELIMIT_STORAGE_URI=url, OFFLINE_MODEL_DELAY=0)
    for marker in reversed(list(request.node.iter_markers("app_config"))):
        config.update(marker.kwargs)  # the closest marker wins
    return config


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Flask]:
    """The app under test: the current schema, users alice and bob, and the offline model
    unless a marker says otherwise."""
    app = build_app(database_url, **marked_config(request))
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


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app`` with no login."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """A CLI runner for ``flask`` commands of ``app``."""
    return app.test_cli_runner()


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    """Authentication helpers bound to ``client``."""
    return AuthActions(app, client)


@pytest.fixture
def alice(client: FlaskClient, auth: AuthActions) -> ApiUser:
    """alice, through the API with a token."""
    return ApiUser(client, auth.headers("alice"))


@pytest.fixture
def bob(client: FlaskClient, auth: AuthActions) -> ApiUser:
    """bob, through the API with a token."""
    return ApiUser(client, auth.headers("bob"))
