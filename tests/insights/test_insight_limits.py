"""Insight generation is rate limited per user (RATELIMIT_INSIGHTS), across its routes."""

from __future__ import annotations

import pytest
from flask import Flask

from chatapp.models import utcnow
from tests.support.data import add_messages, sse_events

pytestmark = pytest.mark.wire_model(GEMINI_TIMEOUT=5.0)


def test_generation_routes_share_one_budget_per_user(app: Flask, client, auth, wire) -> None:
    """Three generations of any kind, then 429; reading and other users are unaffected."""
    app.config["RATELIMIT_INSIGHTS"] = "3 per hour"
    alice, bob = auth.headers("alice"), auth.headers("bob")
    add_messages(app, "alice", ("hello", utcnow()))
    start = sse_events(client.get("/api/v1/chat/weekly-insights/stream", headers=alice))[0]
    assert start["usageInfo"] == {"allowed": True, "remaining": 2, "limit": 3}
    assert (
        client.post("/api/v1/chat/weekly-insights/generate", json={}, headers=alice).status_code
        == 200
    )
    assert client.get("/api/v1/chat/insights", headers=alice).status_code == 200
    for method, url in (
        ("post", "/api/v1/chat/weekly-insights/regenerate"),
        ("get", "/api/v1/chat/insights/stream"),
        ("get", "/api/v1/chat/weekly-insights/stream"),
    ):
        refused = getattr(client, method)(url, headers=alice)
        assert refused.status_code == 429, url
        assert refused.json["code"] == "TOO_MANY_REQUESTS"
        assert refused.headers["Retry-After"]
    assert client.get("/api/v1/chat/weekly-insights/current", headers=alice).status_code == 200
    assert client.get("/api/v1/chat/prompts", headers=alice).status_code == 200
    assert client.get("/api/v1/chat/insights", headers=bob).status_code == 200
