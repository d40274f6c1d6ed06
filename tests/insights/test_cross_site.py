"""GETs that create data (an insight streamed and saved) refuse requests another site started
in a logged-in browser; the page's own requests and Bearer tokens are unaffected."""

from __future__ import annotations

import pytest
from flask import Flask

from chatapp.models import utcnow
from tests.support.data import add_messages, sse_events
from tests.support.gemini_wire import GeminiWireServer, Reply

STREAM = "/api/v1/chat/weekly-insights/stream"
CURRENT = "/api/v1/chat/weekly-insights/current"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
@pytest.mark.parametrize(
    "path", [STREAM, "/api/v1/chat/insights/stream", "/api/v1/chat/insights", CURRENT]
)
def test_another_site_cannot_use_the_login_cookie(
    app: Flask, client, auth, wire: GeminiWireServer, site: str, path: str
) -> None:
    """A navigation or script from another site gets a 403; no insight is made or saved."""
    auth.login()
    add_messages(app, "alice", ("hello", utcnow()))
    response = client.get(path, headers={"Sec-Fetch-Site": site})
    assert response.status_code == 403
    assert response.json["code"] == "CROSS_SITE_REQUEST"
    assert wire.requests == []
    assert client.get(CURRENT).json["insight"] is None


@pytest.mark.parametrize("site", ["same-origin", "none", None])
def test_the_page_itself_still_streams(app: Flask, client, auth, wire, site: str | None) -> None:
    """The page's own request (same-origin), a typed URL (none) or an old browser works."""
    auth.login()
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(text="Your week."))
    headers = {"Sec-Fetch-Site": site} if site else {}
    events = sse_events(client.get(STREAM, headers=headers))
    assert events[-1]["type"] == "done"


def test_bearer_tokens_are_not_affected(app: Flask, client, auth, wire) -> None:
    """A script with a token may say anything in Sec-Fetch-Site."""
    headers = {**auth.headers(), "Sec-Fetch-Site": "cross-site"}
    add_messages(app, "alice", ("hello", utcnow()))
    wire.script(Reply(text="Your week."))
    assert sse_events(client.get(STREAM, headers=headers))[-1]["type"] == "done"
