"""Rate limits on Redis: 429s with headers, per user, per IP, proxies, Redis down, pre-ping."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from chatapp import create_app
from chatapp.config import Config
from chatapp.extensions import db
from chatapp.services import accounts
from tests.support.app import PW_HASH, free_port, fresh_schema, make_config
from tests.support.clients import AuthActions

MESSAGE = "/api/v1/chat/message"


# Every app here counts in the test Redis, and the offline model answers at once.
pytestmark = pytest.mark.redis_limits


def send(client: FlaskClient, headers: dict[str, str], text: str = "hello") -> Any:
    """Send one chat message."""
    return client.post(MESSAGE, json={"message": text}, headers=headers)


def assert_limited(response: Any, limit: int) -> None:
    """A 429 in the error shape, with Retry-After and the X-RateLimit-* headers."""
    assert response.status_code == 429
    assert response.json["code"] == "TOO_MANY_REQUESTS"
    assert response.json["error"] and response.json["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())


def test_21st_message_in_a_minute_is_429(client: FlaskClient, auth: AuthActions) -> None:
    """The default chat limit: 20 messages a minute pass, the 21st is refused with headers."""
    headers = auth.headers()
    first = send(client, headers)
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "20"
    assert first.headers["X-RateLimit-Remaining"] == "19"
    for _ in range(19):
        assert send(client, headers).status_code == 200
    assert_limited(send(client, headers), 20)


def test_limits_are_per_user(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    """Alice using up her messages leaves Bob's untouched."""
    app.config["RATELIMIT_CHAT"] = "2 per minute"
    alice, bob = auth.headers("alice"), auth.headers("bob")
    assert [send(client, alice).status_code for _ in range(2)] == [200, 200]
    assert_limited(send(client, alice), 2)
    assert send(client, bob).status_code == 200


def test_every_chat_route_shares_the_chat_limit(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Messages, one-off prompts and seed 001's /chat draw on one budget."""
    app.config["RATELIMIT_CHAT"] = "3 per minute"
    headers = auth.headers()
    assert send(client, headers).status_code == 200
    assert client.post("/api/v1/chat", json={"prompt": "hi"}, headers=headers).status_code == 200
    legacy = {"user_id": "alice", "message": "hi"}
    assert client.post("/chat", json=legacy, headers=headers).status_code == 200
    assert_limited(client.post("/chat", json=legacy, headers=headers), 3)
    assert_limited(client.post("/api/v1/chat", json={"prompt": "hi"}, headers=headers), 3)


def test_session_routes_share_the_session_limit(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Conversation management has its own budget, separate from messages."""
    app.config["RATELIMIT_SESSIONS"] = "3 per minute"
    headers = auth.headers()
    created = client.post("/api/v1/chat/session", headers=headers)
    assert created.status_code == 201
    key = created.json["id"]
    assert client.get("/api/v1/chat/sessions", headers=headers).status_code == 200
    assert client.get("/history/alice", headers=headers).status_code == 200
    assert_limited(client.get(f"/api/v1/chat/session/{key}", headers=headers), 3)
    assert_limited(client.get(f"/history/alice/{key}", headers=headers), 3)
    assert send(client, headers).status_code == 200


def test_anonymous_requests_are_limited_per_ip(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """Unauthenticated requests share one per-IP budget; signed-in callers are not counted."""
    app.config["RATELIMIT_ANONYMOUS"] = "3 per minute"
    headers = auth.headers()
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert_limited(client.get("/api/v1/me"), 3)
    bogus = {"Authorization": "Bearer chat_not-a-token"}
    assert client.get("/api/v1/me", headers=bogus).status_code == 429
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/health").status_code == 200  # load balancers are never limited


@pytest.mark.parametrize(
    ("proxies", "separate"),
    [(0, False), (1, True)],
    ids=["no-proxy-ignores-header", "one-proxy-uses-header"],
)
def test_trusted_proxies(database_url: str, redis_url: str, proxies: int, separate: bool) -> None:
    """X-Forwarded-For identifies the client only behind TRUSTED_PROXIES proxies."""
    config = make_config(
        database_url,
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_ANONYMOUS="1 per minute",
        TRUSTED_PROXIES=proxies,
    )
    client = create_app(config).test_client()
    # The proxy appends the address it saw; anything before it came from the client.
    assert client.get("/api/v1/me", headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 401
    spoofed = {"X-Forwarded-For": "10.0.0.1, 10.0.0.2"}
    assert client.get("/api/v1/me", headers=spoofed).status_code == (401 if separate else 429)
    # Lying about an earlier hop does not give a client a fresh budget.
    again = {"X-Forwarded-For": "10.0.0.9, 10.0.0.2"}
    assert client.get("/api/v1/me", headers=again).status_code == 429


@pytest.mark.parametrize(
    ("key", "value"),
    [("RATELIMIT_CHAT", "twenty a minute"), ("RATELIMIT_ANONYMOUS", ""), ("TRUSTED_PROXIES", -1)],
)
def test_bad_limit_refuses_to_start(tmp_path: Any, key: str, value: object) -> None:
    """A limit flask-limiter cannot parse (or a negative proxy count) stops the app at startup."""
    with pytest.raises(RuntimeError, match=key):
        create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}", **{key: value}))


def test_health_reports_redis(client: FlaskClient) -> None:
    """With Redis configured and up, health says so."""
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["redis"] == "ok"


def test_health_without_redis_omits_it(tmp_path: Any) -> None:
    """Without REDIS_URL there is nothing to report about Redis."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}"))
    response = app.test_client().get("/api/health")
    assert response.status_code == 200
    assert "redis" not in response.json


def test_redis_down_still_serves(
    database_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    """Nothing listens at REDIS_URL: chats are still answered, health is 200 "degraded"."""
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_config(database_url, REDIS_URL=closed, OFFLINE_MODEL_DELAY=0))
    assert app.config["RATELIMIT_STORAGE_URI"] == closed
    _fresh_users(app, database_url)
    client = app.test_client()
    headers = AuthActions(app, client).headers()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert send(client, headers).status_code == 200
    assert "falling back to in-memory storage" in caplog.text
    health = client.get("/api/v1/health")
    with app.app_context():
        db.engine.dispose()
    assert health.status_code == 200
    assert health.json == {**health.json, "status": "degraded", "database": "ok", "redis": "error"}


def _fresh_users(app: Flask, database_url: str) -> None:
    """Give ``app`` the test schema and a user, as the ``app`` fixture does."""
    with app.app_context():
        fresh_schema(database_url)
        accounts.create_user("alice", "alice@example.com", "", password_hash=PW_HASH)
        db.session.remove()


def _terminate_connections(database_url: str) -> int:
    """Kill every other connection to the test database, as a PostgreSQL restart would."""
    url = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "pre_ping",
    [
        pytest.param(
            True,
            marks=pytest.mark.app_config(
                SQLALCHEMY_ENGINE_OPTIONS=Config.SQLALCHEMY_ENGINE_OPTIONS
            ),
            id="configured",
        ),
        pytest.param(
            False,
            marks=pytest.mark.app_config(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False}),
            id="control-without-pre-ping",
        ),
    ],
)
def test_pool_survives_database_restart(
    client: FlaskClient, auth: AuthActions, database_url: str, pre_ping: bool
) -> None:
    """After PostgreSQL drops the app's connections, the next request still succeeds.

    The control run without pre-ping shows that the killed connection really was reused.
    """
    assert Config.SQLALCHEMY_ENGINE_OPTIONS["pool_pre_ping"]  # "configured" tests pre-ping
    headers = auth.headers()
    assert client.get("/api/v1/chat/sessions", headers=headers).status_code == 200
    assert _terminate_connections(database_url) >= 1
    after = client.get("/api/v1/chat/sessions", headers=headers)
    assert after.status_code == (200 if pre_ping else 500)
