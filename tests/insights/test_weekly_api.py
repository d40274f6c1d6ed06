"""Weekly insights over the API: current, generate, history, by id, delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from chatapp.models import utcnow
from tests.support.data import add_messages, set_timezone
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)

REVIEW = "## Your Week in Review\n\nYou planned a **trip**."


def _generate(client, headers, **body):
    """POST .../generate and return the response."""
    return client.post("/api/v1/chat/weekly-insights/generate", json=body, headers=headers)


def test_current_week_is_saturday_to_friday_in_the_users_zone(app: Flask, client, auth) -> None:
    """The bounds are the user's local Saturday 00:00 and Friday 23:59:59, given in UTC."""
    set_timezone(app, "alice", "Asia/Kolkata")
    body = client.get("/api/v1/chat/weekly-insights/current", headers=auth.headers()).json
    assert body["insight"] is None
    start = datetime.fromisoformat(body["weekStart"])
    end = datetime.fromisoformat(body["weekEnd"])
    assert start.utcoffset() == timedelta(0)
    local_start, local_end = (t.astimezone(ZoneInfo("Asia/Kolkata")) for t in (start, end))
    assert (local_start.weekday(), local_start.time().isoformat()) == (5, "00:00:00")
    assert (local_end.weekday(), local_end.time().isoformat()) == (4, "23:59:59")
    assert start <= utcnow() <= end


def test_no_conversations_means_no_model_call(client, auth, wire: GeminiWireServer) -> None:
    """A week without conversations answers null with a message and never asks the model."""
    add_messages(client.application, "alice", ("last month", utcnow() - timedelta(days=30)))
    response = _generate(client, auth.headers())
    assert response.status_code == 200
    body = response.json
    assert body["insight"] is None
    assert body["entryCount"] == 0
    assert body["message"]
    assert {"weekStart", "weekEnd"} <= body.keys()
    assert wire.requests == []


def test_generate_then_existing_then_forced(app: Flask, client, auth, wire) -> None:
    """Generate saves one insight; again returns it; forced rewrites the same row."""
    headers = auth.headers()
    add_messages(app, "alice", ("plan my trip", utcnow()), ("and the budget", utcnow()))
    add_messages(app, "alice", ("learn python", utcnow()))
    wire.script(Reply(text=REVIEW), Reply(text="## Second take"))
    first = _generate(client, headers).json
    assert first["isExisting"] is False
    assert first["entryCount"] == 2  # conversations, not messages
    insight = first["insight"]
    assert insight["content"] == REVIEW
    assert "<strong>trip</strong>" in insight["html"]
    assert insight["entry_count"] == 2
    assert (insight["week_start"], insight["week_end"]) == (first["weekStart"], first["weekEnd"])
    again = _generate(client, headers, forceRegenerate=False).json
    assert again["isExisting"] is True
    assert again["insight"]["id"] == insight["id"]
    assert len(wire.requests) == 1
    forced = _generate(client, headers, forceRegenerate=True).json
    assert forced["isExisting"] is False
    assert forced["insight"]["id"] == insight["id"]
    assert forced["insight"]["content"] == "## Second take"
    current = client.get("/api/v1/chat/weekly-insights/current", headers=headers).json
    assert current["insight"]["content"] == "## Second take"
    assert len(client.get("/api/v1/chat/weekly-insights/history", headers=headers).json) == 1


def test_model_failure_saves_nothing(app: Flask, client, auth, wire) -> None:
    """A model outage is a 502 in the one error shape, and no insight is stored."""
    headers = auth.headers()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(status=503))
    response = _generate(client, headers)
    assert response.status_code == 502
    assert response.json["code"] == "MODEL_UNAVAILABLE"
    assert (
        client.get("/api/v1/chat/weekly-insights/current", headers=headers).json["insight"] is None
    )
    wire.script(Reply(text="   "))
    assert _generate(client, headers).json["code"] == "MODEL_EMPTY_REPLY"
    assert client.get("/api/v1/chat/weekly-insights/history", headers=headers).json == []


def test_history_by_id_and_delete(app: Flask, client, auth, wire) -> None:
    """History is newest week first; an insight can be read and deleted by its owner only."""
    headers, bob = auth.headers(), auth.headers("bob")
    add_messages(app, "alice", ("this week", utcnow()))
    add_messages(app, "alice", ("two weeks ago", utcnow() - timedelta(days=14)))
    runner = app.test_cli_runner()
    earlier = (utcnow() - timedelta(days=14)).date().isoformat()
    assert (
        runner.invoke(args=["weekly-insights", "--user", "alice", "--week", earlier]).exit_code == 0
    )
    current = _generate(client, headers).json["insight"]
    history = client.get("/api/v1/chat/weekly-insights/history", headers=headers).json
    assert history[0]["id"] == current["id"]
    assert len(history) == 2 and history[0]["week_start"] > history[1]["week_start"]
    url = f"/api/v1/chat/weekly-insights/{current['id']}"
    assert client.get(url, headers=headers).json == current
    assert client.get(url, headers=bob).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    assert client.get("/api/v1/chat/weekly-insights/history", headers=bob).json == []
    deleted = client.delete(url, headers=headers)
    assert deleted.json == {"success": True, "message": "Weekly insight deleted successfully"}
    assert client.get(url, headers=headers).status_code == 404
    assert (
        client.get("/api/v1/chat/weekly-insights/999", headers=headers).json["code"] == "NOT_FOUND"
    )


def test_generate_rejects_bad_bodies(client, auth) -> None:
    """forceRegenerate must be a boolean; unknown fields are refused."""
    for body in ({"forceRegenerate": "yes"}, {"force": True}):
        response = _generate(client, auth.headers(), **body)
        assert response.status_code == 400
        assert response.json["code"] == "VALIDATION_ERROR"


def test_model_request_holds_only_the_callers_words_within_budget(
    app: Flask, client, auth, wire: GeminiWireServer
) -> None:
    """The model sees alice's newest messages up to the budget; never bob's, never replies."""
    app.config["INSIGHT_CONTEXT_TOKENS"] = 200
    now = utcnow()
    add_messages(app, "bob", ("BOB-SECRET plans", now))
    old = [(f"older note {n}", now - timedelta(seconds=60 - n)) for n in range(30)]
    add_messages(app, "alice", *old, title="Notes")
    add_messages(app, "alice", ("x" * 5000, now - timedelta(seconds=20)))  # a long paste
    add_messages(app, "alice", ("newest question", now - timedelta(seconds=10)))
    assert _generate(client, auth.headers()).status_code == 200
    sent = "\n".join(text for _, text in wire.contents(0))
    assert "BOB-SECRET" not in sent
    assert "ok" not in sent.split()  # the model's own replies are not sent back
    assert "newest question" in sent and "older note 29" in sent and "(Notes)" in sent
    lines = [line for line in sent.splitlines() if line.startswith("- [")]
    assert sum(len(line) // 4 + 1 for line in lines) <= 200
    assert "older note 0" not in sent  # the budget ran out before the oldest
    assert "x" * 150 in sent and "x" * 300 not in sent  # the paste was clipped, not dropped
