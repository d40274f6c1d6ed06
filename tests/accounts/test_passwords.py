"""Password rules (NIST SP 800-63B): a minimum length and no common passwords, wherever a
password is set: registration, password change (tests/accounts/test_sessions.py), the CLI."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp.services import accounts, passwords
from tests.support.clients import csrf_token


@pytest.mark.parametrize(
    "password", ["password", "Password1", "qwertyuiop", "iloveyou", "12345678"]
)
def test_common_passwords_are_refused(password: str) -> None:
    """The most common passwords are refused whatever their case."""
    assert passwords.problem(password) is not None
    assert passwords.problem(password)[0] in ("password_common", "password_too_short")


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "s3cret-pass", "Tr0ub4dor&3x"]
)
def test_uncommon_passwords_are_accepted(password: str) -> None:
    """Long enough, not common: accepted, with no composition rules."""
    assert passwords.problem(password) is None


def _register(client: FlaskClient, password: str) -> object:
    data = {
        "username": "carol",
        "email": "carol@example.com",
        "password": password,
        "confirm": password,
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    return client.post("/auth/register", data=data)


def test_registration_refuses_a_common_password(app: Flask, client: FlaskClient) -> None:
    """The form says why next to the field, and no account is made."""
    response = _register(client, "iloveyou1")
    assert response.status_code == 400
    assert "most common" in response.get_data(as_text=True)
    with app.app_context():
        assert accounts.find_user("carol") is None
    assert _register(client, "a rare enough phrase").status_code == 302


def test_registration_refuses_a_short_password(client: FlaskClient) -> None:
    """Fewer than 8 characters is refused."""
    response = _register(client, "abc12")
    assert response.status_code == 400
    assert "at least 8 characters" in response.get_data(as_text=True)


@pytest.mark.parametrize("password", ["password123", "short"])
def test_cli_create_user_follows_the_rules(app: Flask, runner, password: str) -> None:
    """``flask create-user`` refuses the same passwords, creating nothing."""
    args = ["create-user", "dave", "--email", "dave@example.com", "--password", password]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    with app.app_context():
        assert accounts.find_user("dave") is None
