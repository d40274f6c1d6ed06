"""Password guessing: one per-IP budget across every way in, and no timing difference between
unknown accounts and wrong passwords."""

from __future__ import annotations

from typing import Any

import pytest
import werkzeug.security
from flask.testing import FlaskClient

from tests.support.app import PASSWORD
from tests.support.clients import csrf_token


def _form_login(client: FlaskClient) -> int:
    data = {"username": "alice", "password": "wrong", "csrf_token": csrf_token(client)}
    return client.post("/auth/login", data=data).status_code


def _api_login(client: FlaskClient) -> int:
    body = {"username": "alice", "password": "wrong"}
    return client.post("/api/v1/auth/tokens", json=body).status_code


def _taken_registration(client: FlaskClient) -> int:
    data = {
        "username": "alice",
        "email": "alice@example.com",
        "password": "a long unusual passphrase",
        "confirm": "a long unusual passphrase",
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    return client.post("/auth/register", data=data).status_code


def test_login_form_api_and_registration_share_one_budget(client: FlaskClient) -> None:
    """Five failed attempts a minute per IP in all, whichever route they use."""
    statuses = [_form_login(client), _form_login(client), _api_login(client)]
    statuses += [_taken_registration(client), _api_login(client)]
    assert statuses == [401, 401, 401, 409, 401]
    assert _form_login(client) == 429
    assert _api_login(client) == 429
    assert _taken_registration(client) == 429


def test_successful_logins_do_not_use_the_budget(client: FlaskClient) -> None:
    """Only failures count: a person who types the password right is never locked out."""
    body = {"username": "alice", "password": PASSWORD}
    for _ in range(6):
        assert client.post("/api/v1/auth/tokens", json=body).status_code == 201
    assert _api_login(client) == 401


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the method of every password hash werkzeug computes."""
    calls: list[str] = []
    original = werkzeug.security._hash_internal

    def counting(method: str, salt: str, password: str) -> Any:
        calls.append(method)
        return original(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return calls


@pytest.mark.parametrize("route", [_api_login, _form_login])
def test_unknown_user_costs_the_same_hashing_as_a_wrong_password(
    client: FlaskClient, hashes: list[str], route: Any
) -> None:
    """A wrong password for an unknown account hashes exactly like one for a real account."""
    client.post("/api/v1/auth/tokens", json={"username": "nobody", "password": "x"})
    hashes.clear()  # the dummy hash itself is made once per process
    client.post("/api/v1/auth/tokens", json={"username": "nobody", "password": "wrong"})
    unknown = list(hashes)
    hashes.clear()
    route(client)
    assert unknown == hashes
    assert len(unknown) == 1 and unknown[0].startswith("scrypt")
