"""The database becomes unreachable while a reply streams (issue 13, item 5).

On PostgreSQL the app reaches the database through a proxy that the test cuts (every
connection closed, new ones refused); on SQLite every statement fails while it is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.chat.test_stream import (
    STREAM,
    events_of,
    open_stream,
    stored,
    stream,
)
from tests.support.app import build_app, close_app, wire_config
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.outage import DatabaseOutage


@pytest.fixture
def fragile(app: Flask, outage: DatabaseOutage, wire: GeminiWireServer) -> Iterator[Flask]:
    """A worker whose database connections go through ``outage``."""
    worker = build_app(outage.app_url, fresh=False, **wire_config(wire))
    outage.attach(worker)
    yield worker
    outage.restore()
    close_app(worker)


def wait_for_reply(app: Flask, session_id: str) -> list[tuple[str, str, str, str | None]]:
    """The conversation's messages, once its last one is the model's (or fail after 10 s)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = stored(app, session_id)
        if messages[-1][0] == "model":
            return messages
        time.sleep(0.05)
    raise AssertionError(f"no reply stored: {stored(app, session_id)}")


def test_database_lost_mid_stream_ends_with_an_error_and_recovers(
    app: Flask,
    fragile: Flask,
    outage: DatabaseOutage,
    headers: dict[str, str],
    wire: GeminiWireServer,
) -> None:
    words = [f"w{i} " for i in range(8)]
    wire.script(Reply(chunks=words, chunk_delay=0.1))
    response, frames, session_id = open_stream(fragile, headers, "Tell me")
    next(frames)  # the first content

    outage.cut()
    events = events_of("".join(frames))
    response.close()
    assert [e["type"] for e in events] == ["content"] * (len(words) - 1) + ["error"]
    assert events[-1]["code"] == "DATABASE_UNAVAILABLE" and events[-1]["message"]
    busy = fragile.test_client().post(
        STREAM, json={"message": "Now?", "sessionId": session_id}, headers=headers
    )
    assert busy.status_code == 503 and busy.json["code"] == "DATABASE_UNAVAILABLE"

    outage.restore()
    # As soon as the database is back, what the client saw is stored, cut off by the outage.
    assert wait_for_reply(app, session_id) == [
        ("user", "Tell me", "complete", None),
        ("model", "".join(words), "interrupted", "DATABASE_UNAVAILABLE"),
    ]
    wire.script(Reply(chunks=["Fine"]))
    events = stream(fragile.test_client(), headers, message="Again", sessionId=session_id)
    assert events[-1]["type"] == "end" and events[-1]["status"] == "complete"
    assert wire.contents() == [("user", "Tell me"), ("model", "".join(words)), ("user", "Again")]


def test_database_lost_before_the_first_chunk(
    app: Flask,
    fragile: Flask,
    outage: DatabaseOutage,
    headers: dict[str, str],
    wire: GeminiWireServer,
) -> None:
    """The model fails while the database is down: still an error event, then recovery."""
    wire.script(Reply(status=500, delay=0.3))
    response, frames, session_id = open_stream(fragile, headers, "Doomed")
    outage.cut()
    events = events_of("".join(frames))
    response.close()
    assert [e["type"] for e in events] == ["error"]
    assert events[-1]["code"] == "DATABASE_UNAVAILABLE"

    outage.restore()
    deadline = time.monotonic() + 10
    while stored(app, session_id)[-1][2] != "failed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(app, session_id) == [("user", "Doomed", "failed", "DATABASE_UNAVAILABLE")]
    wire.script(Reply(chunks=["Better"]))
    events = stream(fragile.test_client(), headers, message="Retry", sessionId=session_id)
    assert events[-1]["type"] == "end"
    assert wire.contents(-2) == [("user", "Retry")]  # then the title
