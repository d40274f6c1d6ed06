"""Every error under /api has the one JSON shape and changes nothing."""

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp import create_app
from chatapp.extensions import db
from tests.support.app import build_app, close_app, make_config
from tests.support.clients import ApiUser, AuthActions


def assert_error(response, status: int, code: str) -> dict:
    """Check the status and the error shape; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["code"] == code
    assert set(body) >= {"error", "message", "code"}
    assert body["message"]
    return body


def test_malformed_json_is_400(client: FlaskClient, auth: AuthActions) -> None:
    """A body that is not JSON is a 400 MALFORMED_JSON."""
    response = client.post(
        "/api/v1/auth/tokens",
        data="{not json",
        headers={**auth.headers(), "Content-Type": "application/json"},
    )
    assert_error(response, 400, "MALFORMED_JSON")


def test_non_json_body_is_415(client: FlaskClient, auth: AuthActions) -> None:
    """A form-encoded body on a JSON route is a 415."""
    response = client.post("/api/v1/auth/tokens", data={"name": "x"}, headers=auth.headers())
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_wrong_types_give_field_details(client: FlaskClient, auth: AuthActions) -> None:
    """Wrong types and unknown fields are listed field by field."""
    response = client.post(
        "/api/v1/auth/tokens", json={"name": 5, "colour": "red"}, headers=auth.headers()
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    fields = {detail["field"]: detail["code"] for detail in body["details"]}
    assert fields == {"name": "string_type", "colour": "extra_forbidden"}


def test_json_that_is_not_an_object(client: FlaskClient, auth: AuthActions) -> None:
    """A JSON array where an object is expected is a validation error, not a 500."""
    response = client.post("/api/v1/auth/tokens", json=[1, 2], headers=auth.headers())
    assert_error(response, 400, "VALIDATION_ERROR")


def test_unknown_route_and_method(client: FlaskClient, auth: AuthActions) -> None:
    """Unknown paths are 404, wrong methods 405 with Allow, both in the error shape."""
    assert_error(client.get("/api/v1/nothing-here", headers=auth.headers()), 404, "NOT_FOUND")
    response = client.put("/api/v1/me", headers=auth.headers())
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_oversize_body_is_413(database_url: str) -> None:
    """A body over MAX_CONTENT_LENGTH is refused before it is read."""
    app = create_app(make_config(database_url, MAX_CONTENT_LENGTH=100))
    response = app.test_client().post("/api/v1/auth/tokens", json={"name": "x" * 500})
    assert_error(response, 413, "REQUEST_ENTITY_TOO_LARGE")


def test_unexpected_failure_is_500_without_internals(app: Flask) -> None:
    """A crash answers 500 in the error shape and leaks no exception text."""

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.testing = False  # let the error handler run instead of propagating
    response = app.test_client().get("/api/v1/boom")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret" not in str(body)


def test_pages_keep_html_errors(client: FlaskClient) -> None:
    """A missing page is an HTML 404, not JSON."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_an_unreachable_database_is_a_503_in_the_error_shape(tmp_path: Path) -> None:
    app = create_app(make_config(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}"))
    response = app.test_client().get(
        "/api/v1/chat/sessions", headers={"Authorization": "Bearer chat_whatever"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["code"] == "DATABASE_UNAVAILABLE"
    assert "sqlite" not in response.get_data(as_text=True).lower()


BIG = 2**31  # one past the largest id PostgreSQL's integer holds
HUGE = 2**63  # past SQLite's integers too


@pytest.mark.parametrize("value", [BIG, HUGE, 0])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/chat/weekly-insights/{}"),
        ("DELETE", "/api/v1/chat/weekly-insights/{}"),
        ("DELETE", "/api/v1/auth/tokens/{}"),
    ],
)
def test_a_path_id_that_cannot_exist_is_404(alice: ApiUser, method: str, path: str, value: int):
    """An id no table can hold is simply not found, on both databases."""
    assert_error(alice.call(method, path.format(value)), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/api/v1/chat/sessions", "offset", BIG),
        ("/api/v1/chat/sessions", "offset", HUGE),
        ("/api/v1/chat/sessions", "limit", HUGE),
        ("/api/v1/chat/session/{}", "before", BIG),
        ("/api/v1/chat/session/{}", "before", HUGE),
        ("/api/v1/chat/session/{}", "limit", HUGE),
    ],
)
def test_a_paging_value_out_of_range_is_400_naming_it(
    alice: ApiUser, path: str, field: str, value: int
) -> None:
    """limit, offset and before past what the database holds are a 400 naming the field."""
    session_id = alice.call("POST", "/api/v1/chat/session").json["id"]
    response = alice.call("GET", path.format(session_id), query_string={field: value})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["details"]] == [field]


def test_a_database_too_busy_to_lend_a_connection_is_a_503(database_url: str) -> None:
    """Every pooled connection stays busy past ``pool_timeout``: 503, not a 500."""
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.1}
    app = build_app(database_url, SQLALCHEMY_ENGINE_OPTIONS=pool)
    app.testing = False  # let the error handlers run
    headers = AuthActions(app, app.test_client()).headers("alice")
    with app.app_context(), db.engine.connect():  # the only connection, held
        response = app.test_client().get("/api/v1/chat/sessions", headers=headers)
    close_app(app)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["code"] == "DATABASE_UNAVAILABLE"
