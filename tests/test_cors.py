"""CORS headers of the API (``CORS_ORIGINS``): preflights, exposed headers, no credentials.

What the browser makes of these headers is in ``tests/web/test_cors_page.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp import create_app
from tests.support.app import make_config
from tests.support.clients import AuthActions

LISTED = "http://localhost:5173"
OTHER = "https://app.example.com"
UNLISTED = "https://evil.example"
CHAT = "/api/v1/chat/message/stream"
SESSIONS = "/api/v1/chat/sessions"

pytestmark = pytest.mark.app_config(CORS_ORIGINS=f"{LISTED}, {OTHER}")


def preflight(client: FlaskClient, path: str, origin: str, headers: str = "") -> Any:
    """Send the ``OPTIONS`` a browser sends before a cross-origin POST."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers or "authorization,content-type",
        },
    )


def allowed_headers(response: Any) -> set[str]:
    """The request headers a preflight's answer allows, lower-cased."""
    value = response.headers.get("Access-Control-Allow-Headers", "")
    return {name.strip().lower() for name in value.split(",") if name.strip()}


def assert_no_cors(response: Any) -> None:
    """No CORS header at all: the browser keeps the calling page out."""
    assert not [name for name, _ in response.headers.items() if name.startswith("Access-Control")]


@pytest.mark.parametrize("origin", [LISTED, OTHER])
def test_preflight_from_a_listed_origin_needs_no_login(client: FlaskClient, origin: str) -> None:
    response = preflight(client, CHAT, origin)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert allowed_headers(response) == {"authorization", "content-type"}
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]  # caches keep one answer per origin
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.get_data() == b""


def test_preflight_allows_no_other_request_header(client: FlaskClient) -> None:
    """A cookie write's CSRF header is not allowed: a page elsewhere cannot send one."""
    response = preflight(client, CHAT, LISTED, "content-type,x-csrftoken,cookie")
    assert allowed_headers(response) == {"content-type"}


def test_preflight_from_an_unlisted_origin_gets_no_cors(client: FlaskClient) -> None:
    response = preflight(client, CHAT, UNLISTED)
    assert response.status_code == 200  # answered, but the browser refuses the call
    assert_no_cors(response)
    assert_no_cors(client.get("/api/health", headers={"Origin": UNLISTED}))


def test_listed_origin_reads_the_answer_and_limit_headers(
    client: FlaskClient, auth: AuthActions
) -> None:
    response = client.get(SESSIONS, headers={**auth.headers(), "Origin": LISTED})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    limits = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
    assert exposed == {"Retry-After", *limits}
    assert "X-RateLimit-Remaining" in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_errors_are_readable_cross_origin(client: FlaskClient) -> None:
    """A 401 carries CORS headers, so the page can read what to do."""
    response = client.get(SESSIONS, headers={"Origin": LISTED})
    assert response.status_code == 401
    assert response.json["code"] == "AUTH_REQUIRED"
    assert response.headers["Access-Control-Allow-Origin"] == LISTED


@pytest.mark.app_config(RATELIMIT_SESSIONS="1 per minute")
def test_429_is_readable_with_retry_after(client: FlaskClient, auth: AuthActions) -> None:
    headers = {**auth.headers(), "Origin": LISTED}
    assert client.get(SESSIONS, headers=headers).status_code == 200
    limited = client.get(SESSIONS, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Access-Control-Allow-Origin"] == LISTED
    assert int(limited.headers["Retry-After"]) > 0
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_login_cookie_from_another_origin_is_refused(
    client: FlaskClient, auth: AuthActions, site: str
) -> None:
    """A browser sending the login cookie on a page elsewhere's behalf: refused (as before
    CORS), and nothing tells the browser it may show the answer to the page."""
    auth.login()
    assert client.get(SESSIONS).status_code == 200  # the cookie works on the app's own pages
    response = client.get(SESSIONS, headers={"Origin": LISTED, "Sec-Fetch-Site": site})
    assert response.status_code == 403
    assert response.json["code"] == "CROSS_SITE_REQUEST"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_login_cookie_from_a_listed_origin_is_refused_without_sec_fetch_site(
    client: FlaskClient, auth: AuthActions
) -> None:
    """Older browsers send no Sec-Fetch-Site: the Origin of a listed page is enough."""
    auth.login()
    response = client.get(SESSIONS, headers={"Origin": LISTED})
    assert response.status_code == 403
    assert response.json["code"] == "CROSS_SITE_REQUEST"
    assert client.get(SESSIONS, headers={"Origin": UNLISTED}).status_code == 200  # as before


@pytest.mark.app_config(CORS_ORIGINS=f"http://localhost,{LISTED}")
def test_own_origin_listed_by_mistake_keeps_the_page_working(
    client: FlaskClient, auth: AuthActions
) -> None:
    """The app's own pages send their own Origin on writes; listing it changes nothing."""
    auth.login()
    write = client.post(
        "/api/v1/chat/session",
        json={},
        headers={**auth.csrf_headers(), "Origin": "http://localhost"},
    )
    assert write.status_code == 201


@pytest.mark.app_config(RATELIMIT_ANONYMOUS="2 per minute", RATELIMIT_CHAT="1 per minute")
def test_preflights_count_in_no_rate_limit(client: FlaskClient, auth: AuthActions) -> None:
    for _ in range(5):
        response = preflight(client, CHAT, LISTED)
        assert response.status_code == 200
        assert "X-RateLimit-Remaining" not in response.headers
    anonymous = client.get("/api/v1/openapi.json", headers={"Origin": LISTED})
    assert anonymous.headers["X-RateLimit-Remaining"] == "1"  # the first of two
    chat = client.post(CHAT, json={"message": "hi"}, headers={**auth.headers(), "Origin": LISTED})
    assert chat.status_code == 200
    assert chat.headers["X-RateLimit-Remaining"] == "0"  # the one chat of the minute


def test_every_api_route_answers_a_preflight(app: Flask, client: FlaskClient) -> None:
    """Every route under /api/, present and future, is covered: preflights pass without a
    login and carry the CORS headers."""
    paths = {
        re.sub(r"<[^>]+>", "1", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    assert len(paths) > 30
    for path in sorted(paths):
        response = preflight(client, path, LISTED)
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == LISTED, path


@pytest.mark.app_config(CORS_ORIGINS="")
def test_no_origins_means_same_origin_only(client: FlaskClient, auth: AuthActions) -> None:
    """The default: no CORS headers anywhere, yet preflights are not 401s."""
    response = preflight(client, CHAT, LISTED)
    assert response.status_code == 200
    assert_no_cors(response)
    assert_no_cors(client.get(SESSIONS, headers={**auth.headers(), "Origin": LISTED}))


@pytest.mark.app_config(CORS_ORIGINS="*")
def test_star_allows_any_origin_without_credentials(client: FlaskClient) -> None:
    response = preflight(client, CHAT, UNLISTED)
    assert response.headers["Access-Control-Allow-Origin"] == UNLISTED
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    "setting",
    [
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "https://app.example.com:http",
        "https://app.example.com, https://ok.example.com?x=1",
    ],
)
def test_a_setting_that_is_not_an_origin_refuses_to_start(setting: str) -> None:
    """A path or trailing slash would never match a browser's Origin: say so at start-up."""
    with pytest.raises(RuntimeError, match="CORS_ORIGINS"):
        create_app(make_config("sqlite://", CORS_ORIGINS=setting))
