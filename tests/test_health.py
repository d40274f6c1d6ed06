"""GET /api/health (and /api/v1/health), /api/health/live and /api/health/ready."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from chatapp import create_app
from chatapp.database import MIGRATIONS
from chatapp.extensions import db
from chatapp.services.health import shipped_revisions
from tests.support.app import build_app, close_app, free_port, make_config, stamp_schema
from tests.support.outage import DatabaseOutage

LIVE = "/api/health/live"
READY = "/api/health/ready"


@pytest.mark.parametrize("path", ["/api/health", "/api/v1/health"])
def test_health_ok(client: FlaskClient, path: str) -> None:
    """Healthy: 200, the database answered, and a parseable timestamp."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == "ok"
    datetime.fromisoformat(response.json["timestamp"])


def test_health_reports_broken_database(tmp_path) -> None:
    """A database that cannot be opened makes health a 503 with database: error."""
    broken = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    app = create_app(make_config(broken))
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.json["database"] == "error"
    assert response.json["status"] == "error"


def set_applied(app: Flask, revision: str) -> None:
    """Make the database claim ``revision`` is its applied migration."""
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        db.session.commit()


def ready(client: FlaskClient) -> tuple[int, dict[str, Any]]:
    """GET /api/health/ready: its status code and body."""
    response = client.get(READY)
    return response.status_code, response.json


def test_ready_before_and_after_migration(empty_database: str) -> None:
    """Not ready until init-db has run; then ready, with nothing else changed."""
    app = create_app(make_config(empty_database))
    client = app.test_client()
    status, body = ready(client)
    assert status == 503
    assert body["status"] == "error"
    assert (body["database"], body["migrations"]) == ("ok", "missing")
    datetime.fromisoformat(body["timestamp"])
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    status, body = ready(client)
    assert (status, body["status"], body["migrations"]) == (200, "ok", "ok")
    assert "redis" not in body  # no REDIS_URL configured
    with app.app_context():
        db.engine.dispose()


def test_ready_only_at_this_releases_revision_or_newer(app: Flask, client: FlaskClient) -> None:
    """An older revision we ship is 503 "behind"; a revision we do not know (a newer
    release migrated the database during a rolling deploy) is 200 "newer"."""
    stamp_schema(app)
    status, body = ready(client)
    assert (status, body["status"], body["migrations"]) == (200, "ok", "ok")
    (head,) = shipped_revisions().heads
    set_applied(app, ScriptDirectory(str(MIGRATIONS)).get_revision(head).down_revision)
    status, body = ready(client)
    assert (status, body["status"], body["migrations"]) == (503, "error", "behind")
    set_applied(app, "f00d00000099")  # written by a release newer than this code
    status, body = ready(client)
    assert (status, body["status"], body["migrations"]) == (200, "ok", "newer")


@pytest.mark.app_config(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
def test_ready_but_degraded_while_redis_is_down(app: Flask, client: FlaskClient) -> None:
    """Nothing listens at REDIS_URL: the app still serves (limits count per process)."""
    stamp_schema(app)
    status, body = ready(client)
    assert status == 200
    assert body == {**body, "status": "degraded", "database": "ok", "redis": "error"}
    assert body["migrations"] == "ok"


@pytest.mark.redis_limits
def test_ready_reports_redis_when_it_answers(app: Flask, client: FlaskClient) -> None:
    stamp_schema(app)
    status, body = ready(client)
    assert (status, body["status"], body["redis"]) == (200, "ok", "ok")


@pytest.fixture
def fragile(app: Flask, outage: DatabaseOutage) -> Iterator[Flask]:
    """An app whose database (migrated to head) is reached through ``outage``."""
    stamp_schema(app)
    worker = build_app(outage.app_url, fresh=False)
    outage.attach(worker)
    yield worker
    outage.restore()
    close_app(worker)


def test_database_down_is_not_ready_but_still_live(fragile: Flask, outage: DatabaseOutage) -> None:
    """503 while the database is unreachable, 200 again once it is back; the process
    stays live throughout (a restart would not help)."""
    client = fragile.test_client()
    assert ready(client)[0] == 200
    outage.cut()
    status, body = ready(client)
    assert status == 503
    assert (body["status"], body["database"], body["migrations"]) == ("error", "error", "unknown")
    assert client.get(LIVE).status_code == 200
    outage.restore()
    assert ready(client)[0] == 200


def test_live_touches_nothing(app: Flask, client: FlaskClient) -> None:
    """The liveness answer needs no database query (nor Redis, none is configured)."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    record = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(LIVE)
        after_live = list(statements)
        client.get(READY)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (response.status_code, response.json) == (200, {"status": "ok"})
    assert after_live == []
    assert statements  # whereas readiness does query (the probe above would see one)


@pytest.mark.app_config(RATELIMIT_ANONYMOUS="1 per minute")
def test_probes_need_no_login_and_count_in_no_limit(app: Flask, client: FlaskClient) -> None:
    stamp_schema(app)
    for _ in range(5):
        for path in (LIVE, READY):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "X-RateLimit-Remaining" not in response.headers
    assert client.get("/api/v1/openapi.json").status_code == 200  # the budget is untouched
    assert client.get("/api/v1/openapi.json").status_code == 429
