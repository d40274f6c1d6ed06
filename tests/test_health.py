"""GET /api/health and /api/v1/health."""

from datetime import datetime

import pytest
from flask.testing import FlaskClient

from chatapp import create_app
from tests.support.app import make_config


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
