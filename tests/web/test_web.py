"""The page shells: login required, the URL names a conversation, security headers, assets."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp.services import accounts
from chatapp.services.chat import conversations
from tests.support.clients import AuthActions

PAGES = ("/", "/settings")


def session_of(app: Flask, username: str, title: str = "Hello") -> str:
    """Create a conversation for ``username``; return its id."""
    with app.app_context():
        user = accounts.find_user(username)
        return str(conversations.create_session(user, title).id)


@pytest.mark.parametrize("path", [*PAGES, "/chat/00000000-0000-0000-0000-000000000000"])
def test_pages_need_a_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_chat_url_names_the_users_conversation(
    app: Flask, auth: AuthActions, client: FlaskClient
) -> None:
    key = session_of(app, "alice")
    auth.login()
    page = client.get(f"/chat/{key}")
    assert page.status_code == 200
    assert f'data-session-id="{key}"' in page.get_data(as_text=True)
    assert 'data-session-id=""' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("which", ["bob", "unknown", "not-a-uuid"])
def test_other_or_unknown_conversation_is_a_404_page(
    app: Flask, auth: AuthActions, client: FlaskClient, which: str
) -> None:
    key = {
        "bob": session_of(app, "bob", "Bob's plans"),
        "unknown": "00000000-0000-0000-0000-000000000000",
        "not-a-uuid": "not-a-uuid",
    }[which]
    auth.login()
    response = client.get(f"/chat/{key}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Conversation not found" in page
    assert "Bob's plans" not in page


def test_offline_banner_only_without_a_key(app: Flask, auth: AuthActions, client: FlaskClient):
    auth.login()
    assert "The offline model is answering" in client.get("/").get_data(as_text=True)
    # The page asks the model, not the configuration: a model that is not offline (as
    # one built from a key is) removes the banner.
    app.extensions["gemini"] = replace(app.extensions["gemini"], offline=False)
    assert "The offline model is answering" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", [*PAGES, "/auth/login", "/chat/nope"])
def test_html_pages_forbid_inline_script(auth: AuthActions, client: FlaskClient, path: str):
    auth.login()
    response = client.get(path)
    header = response.headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in header
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    # Nothing the policy would block: no inline script, handlers or styles; no other origin.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\s(on[a-z]+|style)=", html)
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert url.startswith(("/", "#", "data:")), url


def test_api_json_has_no_page_policy(auth: AuthActions, client: FlaskClient):
    auth.login()
    assert "Content-Security-Policy" not in client.get("/api/v1/me").headers
    assert client.get("/api/v1/swagger").status_code == 200


@pytest.mark.parametrize(
    "path", ["/static/js/chat.js", "/static/js/settings.js", "/static/css/app.css"]
)
def test_assets_are_served_by_the_app(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype in {"text/javascript", "application/javascript", "text/css"}
    response.close()


def test_highlight_stylesheet(client: FlaskClient) -> None:
    response = client.get("/highlight.css")
    assert response.mimetype == "text/css"
    assert "prefers-color-scheme: dark" in response.get_data(as_text=True)
