"""Acting as a user: the browser's login and CSRF token, API tokens, API calls."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from chatapp.services import accounts
from tests.support.app import PASSWORD


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """Return the CSRF token a page embeds for this client's session."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Log in through the browser form, or get API headers for a user."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self._app = app
        self._client = client

    def login(self, username: str = "alice", password: str = PASSWORD) -> Any:
        """Log in through the form, as a browser would."""
        token = csrf_token(self._client)
        return self._client.post(
            "/auth/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def csrf_headers(self) -> dict[str, str]:
        """Headers a logged-in page's JavaScript sends on writes."""
        return {"X-CSRFToken": csrf_token(self._client, "/")}

    def headers(self, username: str = "alice") -> dict[str, str]:
        """``Authorization`` headers with a fresh API token of ``username``."""
        with self._app.app_context():
            user = accounts.find_user(username)
            assert user is not None
            _, secret = accounts.create_token(user, "test")
        return {"Authorization": f"Bearer {secret}"}


class ApiUser:
    """Calls the JSON API as one user, authenticated by an API token."""

    def __init__(self, client: FlaskClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        """Send one request with this user's token."""
        return self.client.open(path, method=method, json=json, headers=self.headers, **kwargs)

    def send(self, message: str, session_id: str | None = None) -> Any:
        """Send a chat message (a new conversation without ``session_id``)."""
        body = {"message": message}
        if session_id is not None:
            body["sessionId"] = session_id
        return self.call("POST", "/api/v1/chat/message", body)

    def session(self, session_id: str, **query: Any) -> Any:
        """Fetch one conversation with its messages."""
        return self.call("GET", f"/api/v1/chat/session/{session_id}", query_string=query)
