"""What a request brings in is checked before any view: NUL characters, JSON that is too deep
or not an object, and chunked bodies, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import http.client
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp import create_app
from tests.support.app import PASSWORD, make_config
from tests.support.clients import ApiUser, AuthActions, csrf_token
from tests.support.live_server import LiveServer
from tests.test_errors import assert_error

NUL = "x\u0000y"


def assert_nul_refused(response: Any, field: str) -> None:
    """A 400 whose details name ``field`` with code NUL_CHARACTER."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert {"field": field, "code": "NUL_CHARACTER"}.items() <= body["details"][0].items()


def _session(alice: ApiUser) -> str:
    return alice.call("POST", "/api/v1/chat/session").json["id"]


def _personality(alice: ApiUser) -> str:
    body = {"name": "Mine", "system_prompt": "Be brief."}
    return alice.call("POST", "/api/v1/personalities", body).json["id"]


# (method, path, body, field named); {s} is a conversation of alice's, {p} a personality.
NUL_BODIES = [
    ("POST", "/api/v1/chat/message", {"message": NUL}, "message"),
    ("POST", "/api/v1/chat/message/stream", {"message": NUL}, "message"),
    ("POST", "/api/v1/chat/message", {"message": "hi", "personalityId": NUL}, "personalityId"),
    (
        "POST",
        "/api/v1/chat/message/stream",
        {"message": "hi", "personalityId": NUL},
        "personalityId",
    ),
    ("POST", "/api/v1/chat", {"prompt": NUL}, "prompt"),
    ("PATCH", "/api/v1/chat/session/{s}/title", {"title": NUL}, "title"),
    ("POST", "/api/v1/personalities", {"name": NUL, "system_prompt": "p"}, "name"),
    ("POST", "/api/v1/personalities", {"name": "n", "system_prompt": NUL}, "system_prompt"),
    ("PATCH", "/api/v1/personalities/{p}", {"name": NUL}, "name"),
    ("PATCH", "/api/v1/personalities/{p}", {"system_prompt": NUL}, "system_prompt"),
    ("POST", "/api/v1/auth/tokens", {"name": NUL}, "name"),
    ("PATCH", "/api/v1/me", {"timezone": "UTC\u0000"}, "timezone"),
    ("POST", "/chat", {"user_id": "alice", "message": NUL}, "message"),
    ("POST", "/chat", {"user_id": NUL, "message": "hi"}, "user_id"),
    ("POST", "/api/v1/chat/message", {"mess\u0000age": "hi"}, "mess\u0000age"),
    ("POST", "/api/v1/chat/weekly-insights/generate", {"x": [{"y": NUL}]}, "x.0.y"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_BODIES)
def test_nul_in_a_json_body_is_400_naming_the_field(
    alice: ApiUser, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    """Text with a NUL character is refused wherever it enters, and nothing is stored."""
    url = path.format(s=_session(alice), p=_personality(alice))
    before = alice.call("GET", "/api/v1/chat/sessions").json
    assert_nul_refused(alice.call(method, url, body), field)
    assert alice.call("GET", "/api/v1/chat/sessions").json == before


def test_a_refused_first_message_leaves_no_conversation(alice: ApiUser) -> None:
    """A message without sessionId that is refused does not start an empty conversation."""
    for path in ("/api/v1/chat/message", "/api/v1/chat/message/stream"):
        assert_nul_refused(alice.call("POST", path, {"message": NUL}), "message")
    assert_nul_refused(alice.call("POST", "/chat", {"user_id": "alice", "message": NUL}), "message")
    assert alice.call("GET", "/api/v1/chat/sessions").json["total"] == 0


def test_nul_in_a_query_is_400_naming_it(alice: ApiUser) -> None:
    """``q=`` (and any other query value) with a NUL is a 400 naming the parameter."""
    response = alice.call("GET", "/api/v1/chat/sessions", query_string={"q": NUL})
    assert_nul_refused(response, "q")


@pytest.mark.parametrize(
    "path", ["/api/v1/personalities/x%00y", "/history/alice%00", "/api/v1/chat/session/x%00"]
)
def test_nul_in_a_path_is_404(alice: ApiUser, path: str) -> None:
    """A path value with a NUL names nothing that can exist."""
    assert_error(alice.call("GET", path), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/auth/login", {"username": NUL, "password": "whatever-pass"}),
        ("/auth/login", {"username": "alice", "password": NUL}),
        ("/auth/register", {"username": "carol", "email": "c@example.com", "password": NUL}),
    ],
)
def test_nul_in_a_form_is_refused(client: FlaskClient, path: str, fields: dict[str, str]) -> None:
    """The account forms refuse NUL characters next to the field, and log nobody in."""
    data = {"confirm": fields.get("password", ""), **fields, "csrf_token": csrf_token(client, path)}
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "NUL characters" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_is_malformed(alice: ApiUser, body: str) -> None:
    """JSON nested thousands of levels deep is a 400 MALFORMED_JSON, not a crash."""
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = alice.client.post("/api/v1/chat/message", data=body, headers=headers)
    assert_error(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize("body", ["null", '"hi"', "[]", "3", "true"])
@pytest.mark.parametrize("path", ["/api/v1/chat/message", "/api/v1/auth/tokens", "/chat"])
def test_json_that_is_not_an_object_is_a_validation_error(
    alice: ApiUser, path: str, body: str
) -> None:
    """Valid JSON that is not an object is VALIDATION_ERROR naming the body."""
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = alice.client.post(path, data=body, headers=headers)
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert details[0]["field"] == "body"
    assert alice.call("GET", "/api/v1/chat/sessions").json["total"] == 0


def _chunked(client: FlaskClient, body: bytes, headers: dict[str, str]) -> Any:
    """POST ``body`` without Content-Length, as a server does for Transfer-Encoding: chunked."""
    return client.post(
        "/api/v1/auth/tokens",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", **headers},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.fixture
def small_app(database_url: str) -> Flask:
    """An app accepting bodies of at most 100 bytes."""
    return create_app(make_config(database_url, MAX_CONTENT_LENGTH=100))


def test_chunked_bodies_get_the_same_checks(app: Flask, auth: AuthActions) -> None:
    """A chunked body is parsed and checked like any other: created, malformed, 415, NUL."""
    client, headers = app.test_client(), auth.headers()
    json_headers = {**headers, "Content-Type": "application/json"}
    assert _chunked(client, b'{"name": "chunky"}', json_headers).status_code == 201
    assert_error(_chunked(client, b"{nope", json_headers), 400, "MALFORMED_JSON")
    assert_error(_chunked(client, b"null", json_headers), 400, "VALIDATION_ERROR")
    assert_nul_refused(_chunked(client, b'{"name": "a\\u0000"}', json_headers), "name")
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    assert_error(_chunked(client, b"name=x", form), 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_chunked_body_past_the_limit_is_413(small_app: Flask) -> None:
    """MAX_CONTENT_LENGTH holds for chunked bodies too."""
    body = b'{"name": "' + b"x" * 500 + b'"}'
    response = _chunked(small_app.test_client(), body, {"Content-Type": "application/json"})
    assert_error(response, 413, "REQUEST_ENTITY_TOO_LARGE")


def test_chunked_bodies_over_real_http(tmp_path: Path) -> None:
    """The same checks through a real HTTP server that decodes Transfer-Encoding: chunked."""
    with LiveServer(tmp_path / "live.db", MAX_CONTENT_LENGTH=200) as live:
        live.create_user("alice")
        host, port = live.url.removeprefix("http://").split(":")

        def post(chunks: list[bytes], content_type: str = "application/json") -> Any:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request(
                "POST",
                "/api/v1/auth/tokens",
                body=iter(chunks),
                headers={"Content-Type": content_type},
                encode_chunked=True,
            )
            response = connection.getresponse()
            result = response.status, json.loads(response.read() or b"null")
            connection.close()
            return result

        login = json.dumps({"username": "alice", "password": PASSWORD}).encode()
        assert post([login[:10], login[10:]])[0] == 201
        assert post([b"{nope"]) == (400, ANY_CODE("MALFORMED_JSON"))
        assert post([b"[]"]) == (400, ANY_CODE("VALIDATION_ERROR"))
        assert post([b"x" * 150, b"x" * 150]) == (413, ANY_CODE("REQUEST_ENTITY_TOO_LARGE"))
        assert post([b"name=x"], "text/plain") == (415, ANY_CODE("UNSUPPORTED_MEDIA_TYPE"))


class ANY_CODE:
    """Equal to any error body with this ``code``."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and other.get("code") == self.code
