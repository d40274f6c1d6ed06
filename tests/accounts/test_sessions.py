"""Browser logins: production cookies, password change ending other browsers, and logout
ending the remember cookie on the server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp import create_app
from tests.support.app import PASSWORD, build_app, close_app, make_config
from tests.support.clients import csrf_token

NEW_PASSWORD = "a brand new passphrase"
PRODUCTION_KEY = "k" * 32


def login(client: FlaskClient, password: str = PASSWORD, remember: bool = False) -> int:
    """Log alice in through the form; return the status."""
    data = {"username": "alice", "password": password, "csrf_token": csrf_token(client)}
    if remember:
        data["remember"] = "y"
    return client.post("/auth/login", data=data).status_code


def logged_in(client: FlaskClient) -> bool:
    """Whether the client's cookies open the home page."""
    return client.get("/").status_code == 200


def only_remember_cookie(app: Flask, source: FlaskClient) -> FlaskClient:
    """A new browser holding just ``source``'s remember cookie (its session gone)."""
    cookie = source.get_cookie("remember_token")
    assert cookie is not None
    browser = app.test_client()
    browser.set_cookie("remember_token", cookie.value)
    return browser


def change_password(client: FlaskClient, current: str, new: str) -> object:
    """Change alice's password from a logged-in browser, with its CSRF header."""
    headers = {"X-CSRFToken": csrf_token(client, "/settings")}
    body = {"currentPassword": current, "newPassword": new}
    return client.post("/api/v1/me/password", json=body, headers=headers)


@pytest.mark.parametrize("key", ["", "dev", "k" * 31, "ü" * 15])
def test_production_refuses_a_short_secret_key(key: str) -> None:
    """A SECRET_KEY under 32 bytes stops a production app from starting."""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(make_config("sqlite://", CHATAPP_ENV="production", SECRET_KEY=key))


@pytest.fixture
def production_app(database_url: str) -> Iterator[Flask]:
    """An app in production mode (cookies over HTTPS only)."""
    app = build_app(database_url, CHATAPP_ENV="production", SECRET_KEY=PRODUCTION_KEY)
    yield app
    close_app(app)


def _set_cookies(response: object) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}  # type: ignore[attr-defined]


def test_production_cookies(production_app: Flask) -> None:
    """Session and remember cookies are Secure; the remember cookie is HttpOnly, SameSite=Lax
    and lasts 30 days."""
    client = production_app.test_client()
    data = {"username": "alice", "password": PASSWORD, "remember": "y"}
    data["csrf_token"] = csrf_token(client)
    cookies = _set_cookies(client.post("/auth/login", data=data))
    session, remember = cookies["session"], cookies["remember_token"]
    assert "; Secure" in session and "; HttpOnly" in session
    for flag in ("; Secure", "; HttpOnly", "; SameSite=Lax"):
        assert flag in remember
    expires = parsedate_to_datetime(remember.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_development_cookies_work_over_http(client: FlaskClient) -> None:
    """Outside production the cookies are not Secure, so a laptop over http works."""
    data = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)}
    assert "; Secure" not in _set_cookies(client.post("/auth/login", data=data))["session"]


def test_password_change_ends_every_other_browser(app: Flask, auth) -> None:
    """The browser that changes the password stays in; the others (and their remember
    cookies) are logged out; API tokens keep working; only the new password logs in."""
    here, other, remembered = app.test_client(), app.test_client(), app.test_client()
    token = auth.headers()
    assert login(here, remember=True) == login(other) == login(remembered, remember=True) == 302
    response = change_password(here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200, response.json
    assert logged_in(here)
    assert logged_in(only_remember_cookie(app, here))
    assert not logged_in(other)
    assert not logged_in(only_remember_cookie(app, remembered))
    assert app.test_client().get("/api/v1/me", headers=token).status_code == 200
    assert login(app.test_client()) == 401
    assert login(app.test_client(), NEW_PASSWORD) == 302


def test_password_change_by_token(app: Flask, auth, client: FlaskClient) -> None:
    """A script can change the password with its token; every browser is logged out."""
    browser = app.test_client()
    login(browser)
    body = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    response = client.post("/api/v1/me/password", json=body, headers=auth.headers())
    assert response.status_code == 200
    assert not logged_in(browser)


def test_password_change_needs_csrf_from_a_browser(app: Flask) -> None:
    """A cookie-authenticated change without the CSRF header is refused."""
    browser = app.test_client()
    login(browser)
    body = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    assert browser.post("/api/v1/me/password", json=body).status_code == 403
    assert login(app.test_client()) == 302


def test_wrong_current_password_changes_nothing_and_counts(app: Flask) -> None:
    """A wrong current password is a 403 naming it, and counts as a failed login."""
    browser = app.test_client()
    login(browser)
    statuses = []
    for _ in range(6):
        response = change_password(browser, "not it at all", NEW_PASSWORD)
        statuses.append(response.status_code)
    assert statuses == [403] * 5 + [429]
    assert logged_in(browser)
    assert login(app.test_client(), NEW_PASSWORD) == 429  # the budget is spent for this IP


def test_wrong_current_password_is_named(app: Flask) -> None:
    """The error names currentPassword; the password is unchanged."""
    browser = app.test_client()
    login(browser)
    body = change_password(browser, "nope-nope", NEW_PASSWORD).json
    assert body["code"] == "WRONG_PASSWORD"
    assert body["details"][0]["field"] == "currentPassword"
    assert login(app.test_client()) == 302


@pytest.mark.parametrize(("new", "code"), [("Password1", "password_common"), ("short", None)])
def test_new_password_must_follow_the_rules(app: Flask, new: str, code: str | None) -> None:
    """A common or short new password is a 400 naming newPassword; nothing changes."""
    browser = app.test_client()
    login(browser)
    body = change_password(browser, PASSWORD, new).json
    assert body["code"] == "VALIDATION_ERROR"
    assert body["details"][0]["field"] == "newPassword"
    if code:
        assert body["details"][0]["code"] == code
    assert logged_in(browser)
    assert login(app.test_client()) == 302


def test_logout_ends_the_remember_cookie_on_the_server(app: Flask) -> None:
    """After logging out, a copy of that browser's remember cookie no longer logs in."""
    browser = app.test_client()
    login(browser, remember=True)
    stolen = only_remember_cookie(app, browser)
    copy = only_remember_cookie(app, browser)
    assert logged_in(copy)
    browser.post("/auth/logout", headers={"X-CSRFToken": csrf_token(browser, "/")})
    assert not logged_in(browser)
    assert not logged_in(stolen)
