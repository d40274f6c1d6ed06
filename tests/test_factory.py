"""The application factory and its configuration."""

from pathlib import Path

import pytest

from chatapp import config, create_app


def test_testing_flag_follows_config(tmp_path: Path) -> None:
    """A test mapping configures the app; without it the app is not in testing mode."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}).testing
    assert not create_app({"SQLALCHEMY_DATABASE_URI": url}).testing


def test_environment_sets_config_with_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment variables override defaults and take the default's type."""
    values = config.from_environment(
        {
            "DATABASE_URL": "postgresql+psycopg://db/chat",
            "GEMINI_TIMEOUT": "12.5",
            "MAX_CONTENT_LENGTH": "1024",
            "RATELIMIT_ENABLED": "false",
            "HOME": "/root",
        }
    )
    assert values == {
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/chat",
        "GEMINI_TIMEOUT": 12.5,
        "MAX_CONTENT_LENGTH": 1024,
        "RATELIMIT_ENABLED": False,
    }


def test_default_database_is_sqlite_in_instance(tmp_path: Path) -> None:
    """With no DATABASE_URL, data goes to a SQLite file in the instance folder."""
    app = create_app({"SECRET_KEY": "x"})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri == f"sqlite:///{Path(app.instance_path) / 'chatapp.db'}"


def test_production_refuses_default_secret() -> None:
    """Production mode will not start with no SECRET_KEY or the 'dev' one."""
    for secret in ("", "dev"):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"CHATAPP_ENV": "production", "SECRET_KEY": secret})
    app = create_app({"CHATAPP_ENV": "production", "SECRET_KEY": "x" * 64})
    assert app.config["SECRET_KEY"] == "x" * 64


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    """In development an unset SECRET_KEY is generated once, kept private and reused."""
    first = config._development_secret(tmp_path)
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert config._development_secret(tmp_path) == first
