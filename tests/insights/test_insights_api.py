"""Insights over the last 30 days, and suggested prompts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask

from chatapp import gemini
from chatapp.models import utcnow
from chatapp.services.insights.recent import DEFAULT_PROMPTS
from tests.support.data import add_messages
from tests.support.gemini_wire import GeminiWireServer, Reply

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)


@pytest.fixture
def offline_app(app: Flask) -> Flask:
    """``app`` answering with the offline model instead (no key configured)."""
    app.extensions["gemini"].close()
    app.extensions["gemini"] = gemini.OfflineModel(delay=0)
    return app


def test_insights_with_nothing_to_read(client, auth, wire: GeminiWireServer) -> None:
    """No conversations in 30 days: null insight, zero counts, no model call."""
    body = client.get("/api/v1/chat/insights", headers=auth.headers()).json
    assert body["insights"] is None and body["message"]
    assert body["based_on"] == {
        "conversations_analyzed": 0,
        "messages_analyzed": 0,
        "messages_total": 0,
        "time_period": "last_30_days",
    }
    assert wire.requests == []


def test_insights_read_the_last_30_days_only(app: Flask, client, auth, wire) -> None:
    """Only the caller's messages of the last 30 days reach the model; counts say so."""
    add_messages(app, "alice", ("ancient history", utcnow() - timedelta(days=31)))
    add_messages(app, "alice", ("recent one", utcnow() - timedelta(days=2)), ("two", utcnow()))
    add_messages(app, "bob", ("BOB-SECRET", utcnow()))
    wire.script(Reply(text="You keep coming back to *two* things."))
    response = client.get("/api/v1/chat/insights", headers=auth.headers())
    assert response.status_code == 200
    body = response.json
    assert body["insights"] == "You keep coming back to *two* things."
    assert body["based_on"]["conversations_analyzed"] == 1
    assert body["based_on"]["messages_analyzed"] == 2
    assert body["generated_at"] and body["model"]
    sent = wire.contents(0)[-1][1]
    assert "recent one" in sent and "two" in sent
    assert "ancient history" not in sent and "BOB-SECRET" not in sent
    assert wire.system_instruction(0)


def test_insights_model_failure_is_an_error(app: Flask, client, auth, wire) -> None:
    """A rate-limited model is a 503 with Retry-After, in the one error shape."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(status=429))
    response = client.get("/api/v1/chat/insights", headers=auth.headers())
    assert response.status_code == 503
    assert response.json["code"] == "MODEL_RATE_LIMITED"
    assert response.headers["Retry-After"]


def _defaults() -> list[dict[str, str]]:
    """The fixed prompt set as the API shows it."""
    return [
        {"id": f"prompt_{n}", "text": text, "category": category}
        for n, (text, category) in enumerate(DEFAULT_PROMPTS, start=1)
    ]


def test_new_user_gets_the_fixed_prompts(client, auth, wire: GeminiWireServer) -> None:
    """No recent conversations: the fixed set, without asking the model."""
    body = client.get("/api/v1/chat/prompts", headers=auth.headers()).json
    assert body == {"prompts": _defaults(), "total": len(DEFAULT_PROMPTS), "source": "default"}
    assert wire.requests == []


def test_prompts_come_from_recent_conversations(app: Flask, client, auth, wire) -> None:
    """The model suggests prompts from the caller's recent messages; invalid ones are dropped."""
    add_messages(app, "alice", ("I am learning Rust lifetimes", utcnow()))
    add_messages(app, "bob", ("BOB-SECRET", utcnow()))
    suggestions = [
        {"text": "Explain lifetimes with an example", "category": "learning"},
        {"text": "", "category": "learning"},
        {"text": "Plan my Rust study week", "category": "planning"},
        {"text": "Odd one", "category": "gossip"},
    ]
    wire.script(Reply(text="```json\n" + json.dumps(suggestions) + "\n```"))
    body = client.get("/api/v1/chat/prompts", headers=auth.headers()).json
    assert body["source"] == "model"
    assert body["prompts"] == [
        {"id": "prompt_1", "text": "Explain lifetimes with an example", "category": "learning"},
        {"id": "prompt_2", "text": "Plan my Rust study week", "category": "planning"},
    ]
    assert body["total"] == 2
    sent = wire.contents(0)[-1][1]
    assert "Rust lifetimes" in sent and "BOB-SECRET" not in sent


def test_prompts_fall_back_when_the_model_fails(app: Flask, client, auth, wire) -> None:
    """A model error or an unreadable answer still gives the fixed set."""
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(status=500), Reply(text="Sure! Here are some ideas: ..."))
    for _ in range(2):
        body = client.get("/api/v1/chat/prompts", headers=auth.headers()).json
        assert body["source"] == "default" and body["prompts"] == _defaults()
    assert len(wire.requests) == 2


def test_offline_model_gives_fixed_prompts(offline_app: Flask, client, auth) -> None:
    """The offline model writes no suggestions; the fixed set is honest."""
    add_messages(offline_app, "alice", ("hello", utcnow()))
    assert client.get("/api/v1/chat/prompts", headers=auth.headers()).json["source"] == "default"


def test_offline_model_insight_says_what_it_is(offline_app: Flask, client, auth) -> None:
    """With no API key, an insight comes from the offline model and says so."""
    add_messages(offline_app, "alice", ("hello", utcnow()))
    body = client.post(
        "/api/v1/chat/weekly-insights/generate", json={}, headers=auth.headers()
    ).json
    assert "Offline model" in body["insight"]["content"]
    assert body["insight"]["model"] == "offline"
