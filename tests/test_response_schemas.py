"""Every route's responses match the OpenAPI document served at /api/v1/openapi.json.

Each test walks the routes like a client would, successes and the errors a client can
cause, and every response (each event of a stream, too) is validated with ``jsonschema``
against the schema documented for its route, method and status. The walk must reach every
documented operation with a documented 2xx.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chatapp.models import utcnow
from tests.support.app import PASSWORD, stamp_schema
from tests.support.clients import AuthActions
from tests.support.data import add_messages
from tests.support.documents import run_jobs
from tests.support.files import image_bytes
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.openapi import CheckedClient, ResponseChecker

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)
MULTIPART = "multipart/form-data"


@pytest.fixture
def checker(app: Flask, client: FlaskClient) -> Iterator[ResponseChecker]:
    """A checker of ``app``'s responses; the test fails on any mismatch it collected."""
    checker = ResponseChecker(app, client)
    yield checker
    assert checker.problems == [], "\n".join(checker.problems)


def walk_account_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Health, the caller's account and tokens."""
    anon = CheckedClient(client, checker, {})
    call = CheckedClient(client, checker, auth.headers("alice"))
    anon("GET", "/api/health")
    anon("GET", "/api/v1/health")
    assert anon("GET", "/api/v1/me").status_code == 401
    wrong = {"name": "cli", "username": "alice", "password": "wrong"}
    assert anon("POST", "/api/v1/auth/tokens", wrong).status_code == 401
    right = {**wrong, "password": PASSWORD}
    created = anon("POST", "/api/v1/auth/tokens", right)
    assert created.status_code == 201
    assert anon("POST", "/api/v1/auth/tokens", {"name": 5}).status_code == 400
    assert call("GET", "/api/v1/me").status_code == 200
    assert call("PATCH", "/api/v1/me", {"timezone": "Europe/Berlin"}).status_code == 200
    assert call("PATCH", "/api/v1/me", {"timezone": "Nowhere/Zone"}).status_code == 400
    weak = {"currentPassword": PASSWORD, "newPassword": "password"}
    assert call("POST", "/api/v1/me/password", weak).status_code == 400
    change = {"currentPassword": PASSWORD, "newPassword": "a much longer new passphrase"}
    assert call("POST", "/api/v1/me/password", change).status_code == 200
    assert call("GET", "/api/v1/auth/tokens").status_code == 200
    token = f"/api/v1/auth/tokens/{created.json['id']}"
    assert call("DELETE", token).status_code == 200
    assert call("DELETE", token).status_code == 404


def walk_health_routes(app: Flask, client: FlaskClient, checker: ResponseChecker) -> None:
    """The probes: live; ready before the schema is stamped (503), then after (200)."""
    anon = CheckedClient(client, checker, {})
    assert anon("GET", "/api/health/live").status_code == 200
    assert anon("GET", "/api/health/ready").status_code == 503
    stamp_schema(app)
    assert anon("GET", "/api/health/ready").status_code == 200


def walk_chat_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Messages (whole and streamed), conversations, stops and one-off prompts."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    first = call("POST", "/api/v1/chat/message", {"message": "Hello"})
    session = f"/api/v1/chat/session/{first.json['sessionId']}"
    unknown = f"/api/v1/chat/session/{uuid.uuid4()}"
    assert call("POST", "/api/v1/chat/message", {"message": ""}).status_code == 400
    gone = {"message": "x", "sessionId": str(uuid.uuid4())}
    assert call("POST", "/api/v1/chat/message", gone).status_code == 404
    raw = {"data": "x", "content_type": "text/plain"}
    assert call("POST", "/api/v1/chat/message", **raw).status_code == 415
    more = {"message": "Stream it", "sessionId": first.json["sessionId"]}
    assert call("POST", "/api/v1/chat/message/stream", more).status_code == 200
    assert call("POST", "/api/v1/chat/message/stream", {"message": 1}).status_code == 400
    assert call("POST", f"{session}/stop").status_code == 200
    assert call("POST", f"{unknown}/stop").status_code == 404
    assert call("POST", "/api/v1/chat", {"prompt": "Hi"}).status_code == 200
    empty = call("POST", "/api/v1/chat/session")
    assert empty.status_code == 201
    assert call("GET", "/api/v1/chat/sessions?q=Hello").status_code == 200
    assert call("GET", "/api/v1/chat/sessions?limit=0").status_code == 400
    assert call("GET", "/api/v1/chat/search?q=Hello").json["total"] >= 1
    assert call("GET", "/api/v1/chat/search?q=").status_code == 400
    assert call("GET", session).status_code == 200
    assert call("GET", f"{session}?before=999999").status_code == 404
    assert call("GET", unknown).status_code == 404
    assert call("PATCH", f"{session}/title", {"title": "Renamed"}).status_code == 200
    assert call("PATCH", f"{session}/title", {"title": ""}).status_code == 400
    assert call("PATCH", f"{unknown}/title", {"title": "x"}).status_code == 404
    assert call("PATCH", session, {"webSearch": True}).status_code == 200
    assert call("PATCH", session, {"archived": True}).status_code == 200
    assert call("GET", "/api/v1/chat/sessions?archived=true").status_code == 200
    assert call("POST", "/api/v1/chat/message", more).status_code == 410
    assert call("POST", "/api/v1/chat/message/stream", more).status_code == 410
    assert call("PATCH", session, {"archived": False}).status_code == 200
    assert call("PATCH", unknown, {"webSearch": True}).status_code == 404
    assert call("POST", "/api/v1/search", {"query": "Hello"}).status_code == 200
    assert call("POST", "/api/v1/search", {"query": ""}).status_code == 400
    assert call("DELETE", f"/api/v1/chat/session/{empty.json['id']}").status_code == 200
    assert call("DELETE", unknown).status_code == 404


def walk_branch_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Regenerate, edit (whole and streamed) and switch, and their refusals (as bob: the
    chat rate limit is per user)."""
    call = CheckedClient(client, checker, auth.headers("bob"))
    first = call("POST", "/api/v1/chat/message", {"message": "Hello"}).json
    session = f"/api/v1/chat/session/{first['sessionId']}"
    reply = {"messageId": first["messageId"]}
    user_message = call("GET", session).json["messages"][0]["id"]
    edit = {"messageId": user_message, "message": "Hello again"}
    for action, body in (("regenerate", reply), ("edit", edit)):
        assert call("POST", f"{session}/{action}", body).status_code == 200
        assert call("POST", f"{session}/{action}/stream", body).status_code == 200
    assert call("POST", f"{session}/regenerate", {"messageId": user_message}).status_code == 400
    assert (
        call("POST", f"{session}/edit", {"messageId": 2**31 - 1, "message": "x"}).status_code == 404
    )
    assert call("POST", f"{session}/switch", reply).status_code == 200
    assert call("POST", f"{session}/switch", {}).status_code == 400


def walk_personality_routes(
    client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """Built-in and own personalities."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    assert call("GET", "/api/v1/personalities").status_code == 200
    own = call("POST", "/api/v1/personalities", {"name": "Pirate", "system_prompt": "Arr."})
    assert own.status_code == 201
    assert call("POST", "/api/v1/personalities", {"name": ""}).status_code == 400
    path = f"/api/v1/personalities/{own.json['id']}"
    assert call("GET", "/api/v1/personalities/coach").status_code == 200
    assert call("GET", "/api/v1/personalities/nope").status_code == 404
    assert call("PATCH", path, {"name": "Captain"}).status_code == 200
    assert call("PATCH", "/api/v1/personalities/coach", {"name": "x"}).status_code == 403
    assert call("DELETE", "/api/v1/personalities/coach").status_code == 403
    assert call("DELETE", path).status_code == 200


def walk_insight_routes(
    app: Flask, client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """30-day insights, prompts and weekly insights, with and without anything to read."""
    add_messages(app, "alice", ("Plan the garden", utcnow()))
    for user in ("alice", "bob"):  # bob has written nothing
        call = CheckedClient(client, checker, auth.headers(user))
        assert call("GET", "/api/v1/chat/insights").status_code == 200
        assert call("GET", "/api/v1/chat/insights/stream").status_code == 200
        assert call("GET", "/api/v1/chat/prompts").status_code == 200
        assert call("GET", "/api/v1/chat/weekly-insights/current").status_code == 200
        assert call("POST", "/api/v1/chat/weekly-insights/generate", {}).status_code == 200
        assert call("GET", "/api/v1/chat/weekly-insights/stream").status_code == 200
        assert call("POST", "/api/v1/chat/weekly-insights/regenerate").status_code == 200
        assert call("GET", "/api/v1/chat/weekly-insights/history").status_code == 200
    call = CheckedClient(client, checker, auth.headers("alice"))
    current = call("GET", "/api/v1/chat/weekly-insights/current").json["insight"]
    path = f"/api/v1/chat/weekly-insights/{current['id']}"
    assert call("GET", path).status_code == 200
    assert call("DELETE", path).status_code == 200
    assert call("GET", path).status_code == 404
    force = {"forceRegenerate": "yes"}
    assert call("POST", "/api/v1/chat/weekly-insights/generate", force).status_code == 400


def walk_seed_001_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Seed 001's /chat and /history."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    chat = call("POST", "/chat", {"user_id": "alice", "message": "Hello"})
    assert chat.status_code == 200
    again = {"user_id": "alice", "message": "More", "chat_id": chat.json["chat_id"]}
    assert call("POST", "/chat", again).status_code == 200
    assert call("POST", "/chat", {"user_id": "bob", "message": "Hi"}).status_code == 404
    assert call("POST", "/chat", {"user_id": "alice"}).status_code == 400
    assert call("GET", "/history/alice").status_code == 200
    assert call("GET", f"/history/alice/{chat.json['chat_id']}").status_code == 200
    assert call("GET", "/history/bob").status_code == 404


def walk_seed_000_002_routes(
    client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """Seeds 000 and 002's session APIs under /api."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    assert call("POST", "/api/chat", {"prompt": "Hi"}).status_code == 200
    created = call("POST", "/api/sessions", {"user_id": "alice", "title": "Paris"})
    assert created.status_code == 201
    key = created.json["sessionId"]
    messages = f"/api/sessions/{key}/messages"
    assert call("POST", "/api/sessions", {"user_id": "bob"}).status_code == 404
    assert call("POST", "/api/sessions", {"title": ""}).status_code == 400
    assert call("POST", messages, {"content": "Hello"}).status_code == 200
    assert call("POST", messages, {"content": ""}).status_code == 400
    assert call("GET", messages).status_code == 200
    assert call("GET", f"/api/sessions/{uuid.uuid4()}/messages").status_code == 404
    assert call("GET", "/api/users/alice/sessions").status_code == 200
    assert call("GET", "/api/users/bob/sessions").status_code == 404
    assert call("POST", "/api/chat", {"sessionId": key, "message": "More"}).status_code == 200
    assert call("POST", "/api/chat", {"sessionId": key}).status_code == 400
    gone = {"sessionId": str(uuid.uuid4()), "message": "x"}
    assert call("POST", "/api/chat", gone).status_code == 404
    assert call("GET", f"/api/chat/history/{key}").status_code == 200
    assert call("GET", "/api/chat/history/abc-123").status_code == 400
    assert call("GET", f"/api/chat/history/{uuid.uuid4()}").status_code == 404
    assert call("DELETE", f"/api/sessions/{key}").status_code == 200
    assert call("DELETE", "/api/sessions/abc-123").status_code == 400
    assert call("DELETE", f"/api/sessions/{uuid.uuid4()}").status_code == 404
    assert call("POST", messages, {"content": "Again"}).status_code == 410
    assert call("POST", "/api/chat", {"sessionId": key, "message": "x"}).status_code == 410
    assert call("GET", f"/api/sessions?sessionIds={key},nope").status_code == 200
    assert call("GET", "/api/sessions?limit=0").status_code == 400


def walk_knowledge_routes(
    app: Flask, client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """Collections, documents added as JSON and as files, and passage search."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    created = call("POST", "/api/v1/collections", {"name": "Notes", "description": "Mine"})
    assert created.status_code == 201
    collection = f"/api/v1/collections/{created.json['id']}"
    unknown = f"/api/v1/collections/{uuid.uuid4()}"
    assert call("POST", "/api/v1/collections", {"name": ""}).status_code == 400
    assert call("POST", "/api/v1/collections", {"name": "S", "shared": True}).status_code == 403
    assert call("GET", "/api/v1/collections").status_code == 200
    assert call("GET", collection).status_code == 200
    assert call("GET", unknown).status_code == 404
    assert call("PATCH", collection, {"name": "Garden"}).status_code == 200
    assert call("PATCH", collection, {"name": ""}).status_code == 400
    assert call("PATCH", unknown, {"name": "x"}).status_code == 404
    walk_document_routes(app, call, f"{collection}/documents")
    assert call("GET", f"{unknown}/documents").status_code == 404
    found = {"query": "garden", "collectionIds": [created.json["id"]]}
    assert call("POST", "/api/v1/search", found).json["results"] != []
    gone = {"query": "garden", "collectionIds": [str(uuid.uuid4())]}
    assert call("POST", "/api/v1/search", gone).status_code == 404
    assert call("DELETE", collection).status_code == 200
    assert call("DELETE", collection).status_code == 404


def walk_document_routes(app: Flask, call: CheckedClient, documents: str) -> None:
    """A collection's documents: added by JSON and by upload, listed, read, reindexed."""
    text = {"title": "Garden", "text": "Plant the garden beans in May."}
    added = call("POST", documents, text)
    assert added.status_code == 201
    assert call("POST", documents, text).status_code == 200  # the same text again
    assert call("POST", documents, {"title": "Blank", "text": " "}).status_code == 422
    assert call("POST", documents, {"title": ""}).status_code == 400
    assert upload(call, documents, "notes.txt", b"Water the garden daily.").status_code == 201
    assert upload(call, documents, "big.txt", b"x " * 1024).status_code == 413
    assert upload(call, documents, "image.png", b"\x89PNG\r\n\x1a\n").status_code == 415
    no_file = call("POST", documents, data={"title": "x"}, content_type=MULTIPART)
    assert no_file.status_code == 400
    run_jobs(app)
    assert call("GET", documents).json["total"] == 2
    document = f"/api/v1/documents/{added.json['id']}"
    unknown = f"/api/v1/documents/{uuid.uuid4()}"
    assert call("GET", document).json["status"] == "ready"
    assert call("GET", unknown).status_code == 404
    assert call("POST", f"{document}/reindex").json["status"] == "pending"
    assert call("POST", f"{unknown}/reindex").status_code == 404
    run_jobs(app)
    assert call("DELETE", document).status_code == 200
    assert call("DELETE", document).status_code == 404


def upload(call: CheckedClient, documents: str, name: str, data: bytes) -> Any:
    """Upload ``data`` as the multipart ``file`` called ``name``."""
    form = {"file": (io.BytesIO(data), name)}
    return call("POST", documents, data=form, content_type=MULTIPART)


def walk_transfer_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Export (one conversation as JSON and Markdown, everything) and import."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    session_id = call("POST", "/api/v1/chat/message", {"message": "Hello"}).json["sessionId"]
    export = f"/api/v1/chat/session/{session_id}/export"
    assert call("GET", export).status_code == 200
    assert call("GET", f"{export}?format=markdown").status_code == 200
    assert call("GET", f"{export}?format=pdf").status_code == 400
    assert call("GET", f"/api/v1/chat/session/{uuid.uuid4()}/export").status_code == 404
    everything = call("GET", "/api/v1/chat/export")
    assert everything.status_code == 200
    assert call("POST", "/api/v1/chat/import", everything.json).status_code == 200
    form = {"file": (io.BytesIO(everything.data), "export.json")}
    assert call("POST", "/api/v1/chat/import", data=form, content_type=MULTIPART).status_code == 200
    form = {"file": (io.BytesIO(b"[1, 2"), "broken.json")}
    assert call("POST", "/api/v1/chat/import", data=form, content_type=MULTIPART).status_code == 400
    big = {"file": (io.BytesIO(b" " * 30_000), "big.json")}
    assert call("POST", "/api/v1/chat/import", data=big, content_type=MULTIPART).status_code == 413


def walk_file_routes(client: FlaskClient, auth: AuthActions, checker: ResponseChecker) -> None:
    """Files: upload (and its refusals), list, metadata, download, delete."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    files = "/api/v1/files"
    created = call(
        "POST", files, data={"file": (io.BytesIO(b"notes"), "a.txt")}, content_type=MULTIPART
    )
    assert created.status_code == 201
    png = {"file": (io.BytesIO(image_bytes("PNG")), "a.png")}
    assert call("POST", files, data=png, content_type=MULTIPART).status_code == 201
    for name, data, status in [
        ("big.txt", b"x" * 2048, 413),
        ("a.png", b"<html></html>", 415),
        ("empty.txt", b"", 400),
        ("bad.pdf", b"%PDF-1.4 broken", 422),
    ]:
        form = {"file": (io.BytesIO(data), name)}
        assert call("POST", files, data=form, content_type=MULTIPART).status_code == status
    assert call("GET", files).status_code == 200
    assert call("GET", f"{files}?limit=0").status_code == 400
    path = f"{files}/{created.json['id']}"
    unknown = f"{files}/{uuid.uuid4()}"
    for suffix in ("", "/content"):
        assert call("GET", path + suffix).status_code == 200
        assert call("GET", unknown + suffix).status_code == 404
    assert call("DELETE", path).status_code == 200
    assert call("DELETE", path).status_code == 404


@pytest.mark.app_config(OFFLINE_MODEL_DELAY=0, RATELIMIT_SESSIONS="1 per minute")
def test_rate_limited_responses(
    client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """A 429 is documented where it happens."""
    call = CheckedClient(client, checker, auth.headers("alice"))
    assert call("GET", "/api/v1/chat/sessions").status_code == 200
    assert call("GET", "/api/v1/chat/sessions").status_code == 429


@pytest.mark.app_config(
    OFFLINE_MODEL_DELAY=0, UPLOAD_MAX_BYTES=1024, IMPORT_MAX_BYTES=20_000, FILES_MAX_BYTES=1024
)
def test_every_route_matches_the_document(
    app: Flask, client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """Walk every route; each documented operation answers a documented 2xx at least once."""
    for walk in (
        walk_account_routes,
        walk_chat_routes,
        walk_branch_routes,
        walk_personality_routes,
    ):
        walk(client, auth, checker)
    walk_health_routes(app, client, checker)
    walk_insight_routes(app, client, auth, checker)
    walk_seed_001_routes(client, auth, checker)
    walk_seed_000_002_routes(client, auth, checker)
    walk_knowledge_routes(app, client, auth, checker)
    walk_transfer_routes(client, auth, checker)
    walk_file_routes(client, auth, checker)
    assert checker.undocumented_successes() == []


@pytest.mark.wire_model
@pytest.mark.parametrize(
    ("reply", "status"),
    [(Reply(status=500), 502), (Reply(status=429, retry_after=3), 503), (Reply(status=504), 504)],
    ids=["502", "503", "504"],
)
def test_model_failures(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    checker: ResponseChecker,
    wire: GeminiWireServer,
    reply: Reply,
    status: int,
) -> None:
    """The model's failures, as JSON errors and as error events of every stream."""
    add_messages(app, "alice", ("Plan the garden", utcnow()))
    call = CheckedClient(client, checker, auth.headers("alice"))
    for method, path, body in [
        ("POST", "/api/v1/chat/message", {"message": "Hi"}),
        ("POST", "/api/v1/chat", {"prompt": "Hi"}),
        ("POST", "/chat", {"user_id": "alice", "message": "Hi"}),
        ("POST", "/api/chat", {"prompt": "Hi"}),
        ("GET", "/api/v1/chat/insights", None),
        ("POST", "/api/v1/chat/weekly-insights/generate", {}),
    ]:
        wire.script(reply)
        assert call(method, path, body).status_code == status, path
    blocked = Reply(blocked="SAFETY")
    wire.script(blocked)
    assert call("POST", "/api/v1/chat/message", {"message": "Hi"}).status_code == 422
    for method, path, body in [
        ("POST", "/api/v1/chat/message/stream", {"message": "Hi"}),
        ("GET", "/api/v1/chat/insights/stream", None),
        ("GET", "/api/v1/chat/weekly-insights/stream", None),
    ]:
        wire.script(reply)
        assert call(method, path, body).status_code == 200, path


# Placeholder values for path parameters: the body is refused before they are looked at.
PATH_VALUES = {
    "session_id": str(uuid.UUID(int=1)),
    "chat_id": str(uuid.UUID(int=1)),
    "sessionId": str(uuid.UUID(int=1)),
}


def test_writes_refuse_bodies_that_are_not_json(
    client: FlaskClient, auth: AuthActions, checker: ResponseChecker
) -> None:
    """Every write answers a non-JSON body with a documented 415, and bad JSON with a 400.

    Multipart is a 415 too, except where the document says a route takes it (an upload):
    there a form without its ``file`` is a 400.
    """
    call = CheckedClient(client, checker, auth.headers("alice"))
    for template, item in checker.spec["paths"].items():
        path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), "1"), template)
        for method in item.keys() & {"post", "patch", "put", "delete"}:
            text = call(method.upper(), path, data="x", content_type="text/plain")
            assert text.status_code == 415, (method, path)
            broken = call(method.upper(), path, data="{", content_type="application/json")
            assert broken.status_code == 400, (method, path)
            form = call(method.upper(), path, data={"x": "y"}, content_type=MULTIPART)
            takes_form = MULTIPART in item[method].get("requestBody", {}).get("content", {})
            assert form.status_code == (400 if takes_form else 415), (method, path)


@pytest.mark.app_config(RATELIMIT_ANONYMOUS="1000 per minute")  # more routes than 60
def test_every_route_but_the_public_ones_needs_authentication(
    client: FlaskClient, checker: ResponseChecker
) -> None:
    """Without a login or token, each route answers a documented 401 (health and token
    creation by password are public)."""
    anon = CheckedClient(client, checker, {})
    public = {
        ("/api/health", "get"),
        ("/api/v1/health", "get"),
        ("/api/health/live", "get"),
        ("/api/health/ready", "get"),
        ("/api/v1/auth/tokens", "post"),
    }
    for template, item in checker.spec["paths"].items():
        path = re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), "1"), template)
        for method in item.keys() - {"parameters"}:
            if (template, method) not in public:
                assert anon(method.upper(), path).status_code == 401, (method, path)
