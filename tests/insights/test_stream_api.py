"""The insight SSE endpoints over HTTP."""

from __future__ import annotations

import pytest
from flask import Flask

from chatapp.models import utcnow
from tests.support.data import add_messages, sse_events
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)

STREAM = "/api/v1/chat/weekly-insights/stream"
REGENERATE = "/api/v1/chat/weekly-insights/regenerate"
CURRENT = "/api/v1/chat/weekly-insights/current"


def test_weekly_stream_sends_seed_events_and_saves_once(
    app: Flask, client, auth, wire: GeminiWireServer
) -> None:
    """start, chunk…, done; the saved insight is what was streamed; a replay calls nothing."""
    headers = auth.headers()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["## Your Week", " in Review\n\n", "Hello."]))
    response = client.get(STREAM, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    events = sse_events(response)
    assert [e["type"] for e in events] == ["start", "chunk", "chunk", "chunk", "done"]
    start = events[0]
    assert start["entryCount"] == 1 and start["isExisting"] is False
    assert set(start["usageInfo"]) == {"allowed", "remaining", "limit"}
    saved = client.get(CURRENT, headers=headers).json["insight"]
    assert saved == events[-1]["insight"]
    assert saved["content"] == "## Your Week in Review\n\nHello."
    replay = sse_events(client.get(STREAM, headers=headers))
    assert replay[0]["isExisting"] is True and replay[-1]["insight"]["id"] == saved["id"]
    assert len(wire.requests) == 1


def test_regenerate_streams_a_new_insight(app: Flask, client, auth, wire) -> None:
    """POST .../regenerate writes over this week's insight."""
    headers = auth.headers()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(text="first"), Reply(text="second"))
    first = sse_events(client.get(STREAM, headers=headers))[-1]["insight"]
    again = sse_events(client.post(REGENERATE, headers=headers))
    assert again[0]["isExisting"] is False
    assert again[-1]["insight"]["id"] == first["id"]
    assert client.get(CURRENT, headers=headers).json["insight"]["content"] == "second"


def test_broken_weekly_stream_saves_nothing(app: Flask, client, auth, wire) -> None:
    """A model connection reset mid-stream: an error event, and no insight stored."""
    headers = auth.headers()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["a", "b", "c"], break_after=2, reset=True))
    events = sse_events(client.get(STREAM, headers=headers))
    assert [e["type"] for e in events] == ["start", "chunk", "chunk", "error"]
    assert events[-1]["saved"] is False
    assert client.get(CURRENT, headers=headers).json["insight"] is None


def test_client_leaving_cancels_and_saves_nothing(app: Flask, client, auth, wire) -> None:
    """Closing the response mid-stream cancels the model request; nothing is stored."""
    headers = auth.headers()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=[f"w{n} " for n in range(20)], chunk_delay=0.05))
    response = client.get(STREAM, headers=headers, buffered=False)
    body = iter(response.response)
    seen = ""
    while seen.count('"type":"chunk"') < 2:
        seen += next(body).decode()
    response.close()
    assert wire.wait_disconnect(timeout=5)
    assert client.get(CURRENT, headers=headers).json["insight"] is None


def test_silence_sends_keep_alives(app: Flask, client, auth, wire) -> None:
    """While the model is slow, comments keep the connection open."""
    app.config["STREAM_KEEPALIVE"] = 0.05
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["a", "b"], chunk_delay=0.3))
    body = client.get(STREAM, headers=auth.headers()).get_data(as_text=True)
    assert ": keep-alive" in body
    assert sse_events(body)[-1]["type"] == "done"


def test_30_day_insight_stream(app: Flask, client, auth, wire) -> None:
    """Seed 003's start/content/end, streamed from the caller's own messages."""
    add_messages(app, "alice", ("hello", utcnow()))
    add_messages(app, "bob", ("BOB-SECRET", utcnow()))
    wire.script(Reply(chunks=["You ", "said hello."]))
    response = client.get("/api/v1/chat/insights/stream", headers=auth.headers())
    events = sse_events(response)
    assert [e["type"] for e in events] == ["start", "content", "content", "end"]
    assert events[0]["based_on"]["conversations_analyzed"] == 1
    assert "BOB-SECRET" not in wire.contents(0)[-1][1]


def test_streams_need_authentication(client) -> None:
    """Without a token the streams are a plain JSON 401."""
    for method, url in (
        ("get", STREAM),
        ("post", REGENERATE),
        ("get", "/api/v1/chat/insights/stream"),
    ):
        response = getattr(client, method)(url)
        assert response.status_code == 401
        assert response.json["code"] == "AUTH_REQUIRED"
