"""API authentication: tokens, cookies with CSRF, and /api/v1/me."""

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from chatapp.extensions import db
from chatapp.models import ApiToken
from tests.support.app import PASSWORD
from tests.support.clients import AuthActions


def create_token(client: FlaskClient, **body: str) -> dict:
    """Create a token with username and password; return the JSON response."""
    response = client.post(
        "/api/v1/auth/tokens", json={"username": "alice", "password": PASSWORD, **body}
    )
    assert response.status_code == 201, response.json
    return response.json


def test_token_from_password_authenticates(client: FlaskClient) -> None:
    """A script gets a token with its password and then reads its account with it."""
    created = create_token(client, name="laptop")
    assert created["name"] == "laptop"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.status_code == 200
    assert me.json["username"] == "alice"
    assert "password_hash" not in me.json


def test_only_hash_of_token_is_stored(app: Flask, client: FlaskClient) -> None:
    """The database never holds the token itself."""
    secret = create_token(client)["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).one()
        assert secret not in (stored.token_hash, stored.prefix)
        assert len(stored.token_hash) == 64


def test_list_and_revoke(client: FlaskClient, auth: AuthActions) -> None:
    """Tokens are listed without secrets; a revoked token stops working at once."""
    created = create_token(client, name="ci")
    headers = {"Authorization": f"Bearer {created['token']}"}
    listing = client.get("/api/v1/auth/tokens", headers=headers).json
    assert listing["total"] == 1
    assert listing["tokens"][0]["name"] == "ci"
    assert listing["tokens"][0]["last_used_at"] is not None
    assert created["token"] not in str(listing)
    revoked = client.delete(f"/api/v1/auth/tokens/{created['id']}", headers=headers)
    assert revoked.status_code == 200
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert after.json["code"] == "INVALID_TOKEN"


def test_cannot_revoke_another_users_token(client: FlaskClient, auth: AuthActions) -> None:
    """Another user's token id is a 404 and stays valid."""
    bob_token = create_token(client, username="bob")
    response = client.delete(f"/api/v1/auth/tokens/{bob_token['id']}", headers=auth.headers())
    assert response.status_code == 404
    assert response.json["code"] == "NOT_FOUND"
    bob = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bob_token['token']}"})
    assert bob.json["username"] == "bob"


def test_wrong_password_gets_401_then_429(client: FlaskClient) -> None:
    """Guessing passwords through the API is limited like the login form."""
    body = {"username": "alice", "password": "guess"}
    responses = [client.post("/api/v1/auth/tokens", json=body) for _ in range(6)]
    assert [r.status_code for r in responses] == [401] * 5 + [429]
    assert responses[0].json["code"] == "INVALID_CREDENTIALS"
    assert responses[-1].json["code"] == "TOO_MANY_REQUESTS"
    assert int(responses[-1].headers["Retry-After"]) > 0


def test_unauthenticated_api_is_json_401(client: FlaskClient) -> None:
    """No credentials: a JSON 401 with a hint, never a redirect to the login page."""
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json == {
        "error": "Unauthorized",
        "message": "Send 'Authorization: Bearer <token>', or log in in the browser.",
        "code": "AUTH_REQUIRED",
    }
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_malformed_authorization_header(client: FlaskClient) -> None:
    """A header that is not a known Bearer token is refused, even alongside a cookie."""
    for header in ("Basic abc", "Bearer", "Bearer chat_unknown"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json["code"] == "INVALID_TOKEN"


def test_cookie_login_reads_without_csrf_but_writes_need_it(
    client: FlaskClient, auth: AuthActions
) -> None:
    """The browser's cookie authenticates reads; writes also need the page's CSRF header."""
    auth.login()
    assert client.get("/api/v1/me").json["username"] == "alice"
    refused = client.post("/api/v1/auth/tokens", json={"name": "web"})
    assert refused.status_code == 403
    assert refused.json["code"] == "CSRF_FAILED"
    created = client.post("/api/v1/auth/tokens", json={"name": "web"}, headers=auth.csrf_headers())
    assert created.status_code == 201
    assert created.json["token"].startswith("chat_")


def test_token_requests_need_no_csrf(client: FlaskClient, auth: AuthActions) -> None:
    """A script with a token writes without any CSRF header."""
    response = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=auth.headers())
    assert response.status_code == 201
