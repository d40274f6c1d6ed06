"""Streaming replies over SSE with the real google-genai SDK against the local wire server.

Each failure is checked for what the client sees (events), what is stored, and what the
model is sent on the next turn.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from chatapp.extensions import db
from chatapp.models import ChatMessage
from tests.support.clients import AuthActions
from tests.support.gemini_wire import GeminiWireServer, Reply

STREAM = "/api/v1/chat/message/stream"


def events_of(body: str) -> list[dict[str, Any]]:
    """Parse the ``data:`` events of an SSE body (comments are skipped)."""
    frames = [frame for frame in body.split("\n\n") if frame.startswith("data: ")]
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


def stream(client: FlaskClient, headers: dict[str, str], **body: Any) -> list[dict[str, Any]]:
    """Send a message to the stream endpoint and return its events."""
    response = client.post(STREAM, json=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return events_of(response.get_data(as_text=True))


def stored(app: Flask, session_id: str) -> list[tuple[str, str, str, str | None]]:
    """(role, content, status, error_code) of every stored message of a conversation."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(ChatMessage)
            .where(ChatMessage.session_id == uuid.UUID(session_id))
            .order_by(ChatMessage.position)
        )
        return [(m.role, m.content, m.status, m.error_code) for m in rows]


def test_a_stream_sends_seed_events_and_stores_one_reply(
    worker: Flask, headers: dict[str, str], wire: GeminiWireServer
) -> None:
    wire.script(Reply(chunks=["Hel", "lo ", "world"]), Reply(text="Greeting"))
    response = worker.test_client().post(STREAM, json={"message": "Hi"}, headers=headers)

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    events = events_of(response.get_data(as_text=True))
    assert [e["type"] for e in events] == ["start", "content", "content", "content", "end"]
    session_id = events[0]["sessionId"]
    assert "".join(e["content"] for e in events[1:4]) == "Hello world"
    assert events[-1]["title"] == "Greeting" and events[-1]["model"] == "gemini-test"
    assert stored(worker, session_id) == [
        ("user", "Hi", "complete", None),
        ("model", "Hello world", "complete", None),
    ]
    with worker.app_context():
        reply = db.session.get(ChatMessage, events[-1]["messageId"])
        assert reply is not None and reply.content == "Hello world"

    # The next turn sends the streamed reply as ONE model turn.
    stream(worker.test_client(), headers, message="And?", sessionId=session_id)
    assert wire.contents() == [("user", "Hi"), ("model", "Hello world"), ("user", "And?")]


def test_the_offline_model_streams_word_by_word(client: FlaskClient, auth: AuthActions) -> None:
    events = stream(client, auth.headers(), message="Hello offline")
    contents = [e["content"] for e in events if e["type"] == "content"]
    assert len(contents) > 10
    assert "Offline model" in "".join(contents)
    assert events[0]["model"] == events[-1]["model"] == "offline"
    assert events[-1]["type"] == "end" and events[-1]["status"] == "complete"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (
            Reply(chunks=["Par", "tial", "never"], error_frame_after=2, status=503),
            "MODEL_UNAVAILABLE",
        ),
        (Reply(chunks=["Par", "tial", "never"], break_after=2), "MODEL_UNAVAILABLE"),
        (Reply(chunks=["Par", "tial", "never"], break_after=2, reset=True), "MODEL_UNAVAILABLE"),
    ],
    ids=["error-frame", "dropped-connection", "reset-connection"],
)
def test_a_stream_that_breaks_keeps_what_arrived(
    worker: Flask, headers: dict[str, str], wire: GeminiWireServer, reply: Reply, code: str
) -> None:
    wire.script(reply, Reply(text="A title"))
    events = stream(worker.test_client(), headers, message="Tell me")

    assert [e["type"] for e in events] == ["start", "content", "content", "error"]
    assert events[-1]["code"] == code and events[-1]["message"]
    session_id = events[0]["sessionId"]
    assert stored(worker, session_id) == [
        ("user", "Tell me", "complete", None),
        ("model", "Partial", "interrupted", code),
    ]

    # The conversation stays usable and the partial reply is part of its history.
    wire.script(Reply(chunks=["Fine"]))
    events = stream(worker.test_client(), headers, message="Again", sessionId=session_id)
    assert events[-1]["type"] == "end"
    assert wire.contents() == [("user", "Tell me"), ("model", "Partial"), ("user", "Again")]


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(status=429), "MODEL_RATE_LIMITED"),
        (Reply(status=500), "MODEL_UNAVAILABLE"),
        (Reply(blocked="SAFETY"), "PROMPT_BLOCKED"),
        (Reply.bad_key(), "MODEL_AUTH"),
    ],
    ids=["rate-limited", "server-error", "blocked", "bad-key"],
)
def test_a_model_error_before_the_first_chunk(
    worker: Flask, headers: dict[str, str], wire: GeminiWireServer, reply: Reply, code: str
) -> None:
    wire.script(reply)
    events = stream(worker.test_client(), headers, message="Doomed")

    assert [e["type"] for e in events] == ["start", "error"]
    assert events[-1]["code"] == code
    assert "API key not valid" not in events[-1]["message"]
    session_id = events[0]["sessionId"]
    assert stored(worker, session_id) == [("user", "Doomed", "failed", code)]

    wire.script(Reply(chunks=["Better"]), Reply(text="A title"))
    events = stream(worker.test_client(), headers, message="Retry", sessionId=session_id)
    assert events[-1]["type"] == "end"
    assert wire.contents(0 - 2) == [("user", "Retry")]  # the failed turn is not re-sent


def test_errors_before_the_stream_are_plain_json(
    worker: Flask, headers: dict[str, str], wire: GeminiWireServer
) -> None:
    client = worker.test_client()
    missing = client.post(
        STREAM,
        json={"message": "x", "sessionId": "00000000-0000-0000-0000-000000000000"},
        headers=headers,
    )
    assert missing.status_code == 404 and missing.json["code"] == "NOT_FOUND"
    blank = client.post(STREAM, json={"message": "  "}, headers=headers)
    assert blank.status_code == 400 and blank.mimetype == "application/json"
    anonymous = client.post(STREAM, json={"message": "x"})
    assert anonymous.status_code == 401
    assert wire.requests == []


def test_silence_sends_keep_alive_comments(
    make_worker: Callable[..., Flask], headers: dict[str, str], wire: GeminiWireServer
) -> None:
    worker = make_worker(STREAM_KEEPALIVE=0.05)
    wire.script(Reply(chunks=["slow", " reply"], delay=0.3), Reply(text="A title"))
    body = worker.test_client().post(STREAM, json={"message": "Hi"}, headers=headers)
    text = body.get_data(as_text=True)

    assert ": keep-alive\n\n" in text
    assert [e["type"] for e in events_of(text)][-1] == "end"


def test_a_second_turn_while_streaming_is_busy(
    worker: Flask, headers: dict[str, str], wire: GeminiWireServer
) -> None:
    wire.script(Reply(chunks=["a", "b", "c", "d"], chunk_delay=0.2), Reply(text="T"))
    client = worker.test_client()
    response = client.post(STREAM, json={"message": "Hi"}, headers=headers, buffered=False)
    chunks = response.response
    start = json.loads(next(_data(chunks)).removeprefix("data: "))
    busy = worker.test_client().post(
        STREAM, json={"message": "Also", "sessionId": start["sessionId"]}, headers=headers
    )
    assert busy.status_code == 409 and busy.json["code"] == "SESSION_BUSY"
    assert events_of("".join(_data(chunks)))[-1]["type"] == "end"
    response.close()


def _data(chunks: Any) -> Iterator[str]:
    """Yield the decoded non-empty frames of a streamed response body."""
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if text.strip():
            yield text


def open_stream(
    app: Flask, headers: dict[str, str], message: str
) -> tuple[Any, Iterator[str], str]:
    """Start a streamed turn in a new conversation without reading it: the response (close
    it when done), its frames after ``start``, and the conversation's id."""
    response = app.test_client().post(
        STREAM, json={"message": message}, headers=headers, buffered=False
    )
    frames = _data(response.response)
    session_id = json.loads(next(frames).removeprefix("data: "))["sessionId"]
    return response, frames, session_id


@pytest.fixture
def served(worker: Flask) -> Iterator[str]:
    """``worker`` served over real HTTP on a free port, threaded like production."""
    server = make_server("127.0.0.1", 0, worker, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_a_client_that_disconnects_cancels_the_model_and_keeps_the_partial(
    worker: Flask, served: str, headers: dict[str, str], wire: GeminiWireServer
) -> None:
    words = [f"w{i} " for i in range(40)]
    wire.script(Reply(chunks=words, chunk_delay=0.05), Reply(text="A title"))
    received: list[str] = []
    session_id = ""
    with (
        httpx2.Client(base_url=served, timeout=10) as http,
        http.stream("POST", STREAM, json={"message": "Long"}, headers=headers) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                session_id = event.get("sessionId", session_id)
                if event["type"] == "content":
                    received.append(event["content"])
                if len(received) == 3:
                    break  # the client goes away mid-reply

    assert wire.wait_disconnect(timeout=5), "the model request was not closed"
    messages = _wait_for_reply(worker, session_id)
    role, content, status, _ = messages[-1]
    assert (role, status) == ("model", "interrupted")
    assert content.startswith("".join(received)) and len(content) < len("".join(words))

    wire.script(Reply(chunks=["ok"]))
    events = stream(worker.test_client(), headers, message="Next", sessionId=session_id)
    assert events[-1]["type"] == "end"
    assert wire.contents()[1] == ("model", content)


def _wait_for_reply(app: Flask, session_id: str) -> list[tuple[str, str, str, str | None]]:
    """Wait until the conversation's last message is the model's (stored after a disconnect)."""
    for _ in range(100):
        messages = stored(app, session_id)
        if messages[-1][0] == "model":
            return messages
        threading.Event().wait(0.05)
    raise AssertionError(f"no reply stored: {messages}")


def test_stop_from_another_instance_ends_the_stream(
    worker: Flask,
    make_worker: Callable[..., Flask],
    headers: dict[str, str],
    wire: GeminiWireServer,
) -> None:
    other = make_worker()  # another worker or host on the same database
    words = [f"w{i} " for i in range(100)]
    wire.script(Reply(chunks=words, chunk_delay=0.05))
    response, frames, session_id = open_stream(worker, headers, "Long")
    next(frames)  # the first content

    stop = other.test_client().post(f"/api/v1/chat/session/{session_id}/stop", headers=headers)
    assert stop.status_code == 200 and stop.json == {"sessionId": session_id, "stopped": True}
    events = events_of("".join(frames))
    response.close()

    assert events[-1]["type"] == "end" and events[-1]["stopped"] is True
    assert events[-1]["status"] == "interrupted"
    assert wire.wait_disconnect(timeout=5), "the model request was not cancelled"
    role, content, status, _ = stored(worker, session_id)[-1]
    assert (role, status) == ("model", "interrupted") and 0 < len(content) < len("".join(words))
    assert content == "".join(words[: 1 + sum(e["type"] == "content" for e in events)])

    again = other.test_client().post(f"/api/v1/chat/session/{session_id}/stop", headers=headers)
    assert again.status_code == 200 and again.json["stopped"] is False
    wire.script(Reply(chunks=["ok"]))
    events = stream(other.test_client(), headers, message="Next", sessionId=session_id)
    assert events[-1]["type"] == "end"
    assert wire.contents()[:2] == [("user", "Long"), ("model", content)]


def test_stop_is_scoped_to_the_owner(
    worker: Flask, client: FlaskClient, auth: AuthActions, wire: GeminiWireServer
) -> None:
    created = worker.test_client().post("/api/v1/chat/session", headers=auth.headers("alice"))
    path = f"/api/v1/chat/session/{created.json['id']}/stop"
    assert worker.test_client().post(path, headers=auth.headers("bob")).status_code == 404
    missing = "/api/v1/chat/session/00000000-0000-0000-0000-000000000000/stop"
    assert worker.test_client().post(missing, headers=auth.headers("alice")).status_code == 404
    idle = worker.test_client().post(path, headers=auth.headers("alice"))
    assert idle.status_code == 200 and idle.json["stopped"] is False
