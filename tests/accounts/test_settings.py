"""The user's time zone setting, and the migration's built-in personalities."""

from __future__ import annotations

from pathlib import Path

import flask_migrate
from sqlalchemy import select

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import Personality
from chatapp.services.chat.personalities import BUILTINS
from tests.support.app import make_config


def test_timezone_defaults_to_utc_and_can_be_set(client, auth) -> None:
    """PATCH /me sets an IANA time zone; /me shows it."""
    headers = auth.headers()
    assert client.get("/api/v1/me", headers=headers).json["timezone"] == "UTC"
    response = client.patch("/api/v1/me", json={"timezone": "Europe/Berlin"}, headers=headers)
    assert response.status_code == 200
    assert response.json["timezone"] == "Europe/Berlin"
    assert client.get("/api/v1/me", headers=headers).json["timezone"] == "Europe/Berlin"


def test_unknown_timezone_is_400_and_changes_nothing(client, auth) -> None:
    """A made-up or malformed zone is a validation error on the timezone field."""
    headers = auth.headers()
    for zone in ("Mars/Olympus", "../etc/passwd", "", 5):
        response = client.patch("/api/v1/me", json={"timezone": zone}, headers=headers)
        assert response.status_code == 400, zone
        assert response.json["details"][0]["field"] == "timezone"
    assert client.get("/api/v1/me", headers=headers).json["timezone"] == "UTC"


def test_migration_seeds_the_builtins(tmp_path: Path) -> None:
    """init-db creates the same built-in personalities the code knows."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'm.db'}"))
    with app.app_context():
        flask_migrate.upgrade()
        rows = db.session.scalars(select(Personality).order_by(Personality.id)).all()
        seeded = [(p.id, p.name, p.system_prompt, p.user_id) for p in rows]
        db.engine.dispose()
    expected = sorted((b["id"], b["name"], b["system_prompt"], None) for b in BUILTINS)
    assert seeded == expected
