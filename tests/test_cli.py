"""The flask CLI commands, run through the test runner."""

import pytest
from flask import Flask
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services import accounts


@pytest.mark.parametrize("command", ["init-db", "create-user", "create-token", "seed"])
def test_help(runner, command: str) -> None:
    """Every command explains itself."""
    result = runner.invoke(args=[command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_create_user_prints_id(app: Flask, runner) -> None:
    """create-user makes an account that can log in, and prints its id."""
    result = runner.invoke(
        args=["create-user", "dave", "--email", "dave@example.com", "--password", "pw-123456"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = accounts.authenticate("dave", "pw-123456")
        assert user is not None
        assert result.output.strip() == str(user.id)
        assert not user.is_admin


def test_create_user_admin_flag(app: Flask, runner) -> None:
    """--admin makes an administrator."""
    args = ["create-user", "root", "--email", "r@example.com", "--password", "x" * 9, "--admin"]
    assert runner.invoke(args=args).exit_code == 0
    with app.app_context():
        assert accounts.find_user("root").is_admin


def test_create_user_taken_name_fails(runner) -> None:
    """A taken username is a clear error and a non-zero exit."""
    result = runner.invoke(
        args=["create-user", "alice", "--email", "new@example.com", "--password", "x" * 9]
    )
    assert result.exit_code != 0
    assert "already registered" in result.output


def test_create_token_last_line_is_token(app: Flask, runner) -> None:
    """create-token prints the token alone on the last line, and it works."""
    result = runner.invoke(args=["create-token", "alice", "--name", "deploy"])
    assert result.exit_code == 0
    secret = result.output.strip().splitlines()[-1]
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.json["username"] == "alice"


def test_create_token_unknown_user(runner) -> None:
    """An unknown username fails with a message."""
    result = runner.invoke(args=["create-token", "nobody"])
    assert result.exit_code != 0
    assert "No user named 'nobody'" in result.output


def test_seed_twice_adds_nothing(app: Flask, runner) -> None:
    """seed creates the demo data with a progress bar; a second run adds nothing."""
    args = ["seed", "--users", "2", "--sessions", "2", "--messages", "4"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Seeding demo users" in first.output
    counts = _counts(app)
    assert counts == (4, 4, 16)  # alice, bob + 2 demo users; 2x2 sessions; 4 messages each
    assert runner.invoke(args=args).exit_code == 0
    assert _counts(app) == counts
    with app.app_context():
        assert accounts.authenticate("demo1", "demo-password") is not None


def _counts(app: Flask) -> tuple[int, int, int]:
    """Return the number of users, sessions and messages."""
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, ChatSession, ChatMessage)
        )
