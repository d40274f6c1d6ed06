"""Browser accounts: register, log in, log out, CSRF and brute-force limits."""

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import PASSWORD
from tests.support.clients import AuthActions, csrf_token


def register(client: FlaskClient, **fields: str) -> object:
    """Submit the registration form with valid defaults overridden by ``fields``."""
    data = {
        "username": "carol",
        "email": "carol@example.com",
        "password": "s3cret-pass",
        "confirm": "s3cret-pass",
        "csrf_token": csrf_token(client, "/auth/register"),
        **fields,
    }
    return client.post("/auth/register", data=data)


def test_register_logs_in_and_shows_home(client: FlaskClient) -> None:
    """A new account is logged in straight away and sees its home page."""
    response = register(client)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Welcome, carol" in page


def test_register_rejects_taken_username(client: FlaskClient) -> None:
    """A taken username is refused with a message; no second account is made."""
    response = register(client, username="alice", email="other@example.com")
    assert response.status_code == 409
    assert "already registered" in response.get_data(as_text=True)


def test_register_validates_fields(client: FlaskClient) -> None:
    """Short passwords, mismatches and bad emails are shown next to their fields."""
    response = register(client, password="short", confirm="other", email="nope")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Passwords differ." in page
    assert "Invalid email address." in page


def test_form_without_csrf_token_is_refused(client: FlaskClient) -> None:
    """A login form posted from another site (no CSRF token) does nothing."""
    response = client.post("/auth/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_login_logout(auth: AuthActions, client: FlaskClient) -> None:
    """Logging in opens the home page; logging out closes it again."""
    assert client.get("/").status_code == 302
    assert auth.login().status_code == 302
    assert client.get("/").status_code == 200
    client.post("/auth/logout", headers=auth.csrf_headers())
    assert client.get("/").headers["Location"].startswith("/auth/login")


def test_login_by_email_and_next(auth: AuthActions, client: FlaskClient) -> None:
    """Email works as the login name, and ?next= returns to a local page only."""
    token = csrf_token(client)
    data = {"username": "ALICE@example.com", "password": PASSWORD, "csrf_token": token}
    response = client.post("/auth/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_wrong_password_is_401_then_429(app: Flask, client: FlaskClient) -> None:
    """Failed logins are refused; after a handful the client is rate limited."""
    token = csrf_token(client)
    data = {"username": "alice", "password": "wrong", "csrf_token": token}
    statuses = [client.post("/auth/login", data=data).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
