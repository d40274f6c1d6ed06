"""The insight stream generators (what the SSE endpoints send), without HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from chatapp import sse
from chatapp.extensions import db
from chatapp.models import WeeklyInsight, utcnow
from chatapp.schemas import UsageInfo
from chatapp.services import accounts
from chatapp.services.insights import recent, weekly
from tests.support.data import add_messages
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)

USAGE = {"allowed": True, "remaining": 9, "limit": 10}


def weekly_events(app: Flask, force: bool = False, stop_after: int | None = None) -> list[dict]:
    """Run alice's weekly stream; the client leaves after ``stop_after`` events."""
    with app.app_context():
        user = accounts.find_user("alice")
        events: list[dict[str, Any]] = []
        generator = weekly.stream(user, force, UsageInfo(**USAGE))
        for event in generator:
            if isinstance(event, sse.Event):
                events.append(sse.payload(event))
            if len(events) == stop_after:
                generator.close()  # what the server does when the client disconnects
                break
        return events


def stored(app: Flask) -> list[tuple[int, str]]:
    """(id, content) of every stored weekly insight."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(select(WeeklyInsight.id, WeeklyInsight.content))
        ]


def test_stream_saves_once_and_then_replays(app: Flask, wire: GeminiWireServer) -> None:
    """start, chunks, done with the saved insight; a second stream replays it."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["## Your ", "Week", " in Review"]))
    events = weekly_events(app)
    assert [e["type"] for e in events] == ["start", "chunk", "chunk", "chunk", "done"]
    start, done = events[0], events[-1]
    assert start["entryCount"] == 1 and start["usageInfo"] == USAGE
    assert start["isExisting"] is False and {"weekStart", "weekEnd"} <= start.keys()
    content = "".join(e["content"] for e in events if e["type"] == "chunk")
    assert done["insight"]["content"] == content == "## Your Week in Review"
    assert stored(app) == [(done["insight"]["id"], content)]
    replay = weekly_events(app)
    assert [e["type"] for e in replay] == ["start", "chunk", "done"]
    assert replay[0]["isExisting"] is True and replay[1]["content"] == content
    assert len(wire.requests) == 1


def test_regenerate_replaces_in_place(app: Flask, wire: GeminiWireServer) -> None:
    """A forced stream writes a new insight into the same row."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(text="first"), Reply(text="second"))
    first = weekly_events(app)[-1]["insight"]
    second = weekly_events(app, force=True)[-1]["insight"]
    assert stored(app) == [(first["id"], "second")] and second["id"] == first["id"]


def test_broken_stream_saves_nothing_and_says_so(app: Flask, wire: GeminiWireServer) -> None:
    """A connection cut mid-stream ends with an error event; the old insight stays."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(text="kept"), Reply(chunks=["a", "b", "c"], break_after=1))
    weekly_events(app)
    events = weekly_events(app, force=True)
    assert [e["type"] for e in events] == ["start", "chunk", "error"]
    assert events[-1]["saved"] is False and "Nothing was saved" in events[-1]["message"]
    assert events[-1]["code"] == "MODEL_UNAVAILABLE"
    assert [content for _, content in stored(app)] == ["kept"]


def test_error_frame_and_empty_reply_save_nothing(app: Flask, wire: GeminiWireServer) -> None:
    """An error frame mid-stream, or an empty answer, is an error and saves nothing."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["a", "b"], error_frame_after=1), Reply(text=""))
    assert weekly_events(app)[-1]["type"] == "error"
    assert weekly_events(app)[-1]["code"] == "MODEL_EMPTY_REPLY"
    assert stored(app) == []


def test_client_leaving_stops_the_model_and_saves_nothing(
    app: Flask, wire: GeminiWireServer
) -> None:
    """When the client goes, the model request is closed and nothing is stored."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["a", "b", "c", "d"], chunk_delay=0.2))
    events = weekly_events(app, stop_after=2)
    assert [e["type"] for e in events] == ["start", "chunk"]
    assert wire.wait_disconnect()
    assert stored(app) == []


def test_week_without_conversations_streams_no_model_call(app: Flask, wire) -> None:
    """start with entryCount 0, then done with a null insight and a message."""
    events = weekly_events(app)
    assert [e["type"] for e in events] == ["start", "done"]
    assert events[0]["entryCount"] == 0
    assert events[1]["insight"] is None and events[1]["message"]
    assert wire.requests == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WeeklyInsight)) == 0


def test_30_day_insight_stream(app: Flask, wire: GeminiWireServer) -> None:
    """Seed 003's start/content/end events, with what the insight read."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(chunks=["You ", "said hello."]))
    with app.app_context():
        user = accounts.find_user("alice")
        events = [sse.payload(e) for e in recent.stream(user) if isinstance(e, sse.Event)]
    assert [e["type"] for e in events] == ["start", "content", "content", "end"]
    assert events[0]["based_on"]["messages_analyzed"] == 1
    assert "".join(e["content"] for e in events[1:3]) == "You said hello."
    assert events[-1]["model"] and events[-1]["generated_at"]
