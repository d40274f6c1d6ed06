"""A page from another origin calls the API in Chromium: with a token when its origin is in
``CORS_ORIGINS``, never with the login cookie, and not at all from an origin not listed.

The app and both pages are on 127.0.0.1 at different ports: different origins of the same
site, so the browser would send the login cookie (SameSite=Lax) if a page asked it to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ApiToken
from tests.support.app import PASSWORD
from tests.support.data import sse_events
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page

pytestmark = BROWSER_MARKS
EMPTY_PAGE = b"<!doctype html><title>token client</title><p>A client of chatapp."


class _EmptyPage(BaseHTTPRequestHandler):
    """Serves the same empty HTML page at every path."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(EMPTY_PAGE)))
        self.end_headers()
        self.wfile.write(EMPTY_PAGE)

    def log_message(self, *_args: Any) -> None:
        """Keep the test output quiet."""


class Origin:
    """Another web server (another origin) serving a page that scripts can run in."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyPage)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def origins() -> Iterator[tuple[Origin, Origin]]:
    """Two other origins: the first will be listed in CORS_ORIGINS, the second not."""
    listed, unlisted = Origin(), Origin()
    yield listed, unlisted
    listed.close()
    unlisted.close()


@pytest.fixture
def cors_live(
    tmp_path: Path, page_wire: GeminiWireServer, origins: tuple[Origin, Origin]
) -> Iterator[LiveServer]:
    """The app, with alice, allowing the first of ``origins`` only."""
    page_wire.reset()
    server = LiveServer(
        tmp_path / "cors.db",
        GEMINI_API_KEY="test-key",
        GEMINI_BASE_URL=page_wire.base_url,
        GEMINI_RETRIES=1,
        CORS_ORIGINS=origins[0].url,
    )
    with server:
        server.create_user("alice")
        yield server


@pytest.fixture
def client_tab(browser: Any, cors_live: LiveServer) -> Iterator[Page]:
    """A fresh browser context's tab; the test opens the origin it needs."""
    context = browser.new_context()
    page = Page(context.new_page(), cors_live)
    # The browser reports a refused cross-origin call on the console; that is the point.
    page.page.remove_listener("console", page._on_console)
    yield page
    context.close()
    assert page.errors == [], "the page raised an error"


# Runs in the other origin's page: get a token with the password, then stream a reply,
# reading the SSE body through fetch; returns what the script could see.
TOKEN_AND_STREAM = """async ([api, password]) => {
    const created = await fetch(api + "/api/v1/auth/tokens", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({name: "spa", username: "alice", password}),
    });
    const {token} = await created.json();
    const response = await fetch(api + "/api/v1/chat/message/stream", {
        method: "POST",
        headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        body: JSON.stringify({message: "Hello from elsewhere"}),
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let body = "", reads = 0;
    for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        reads += 1;
        body += decoder.decode(value, {stream: true});
    }
    return {
        tokenStatus: created.status,
        status: response.status,
        type: response.headers.get("Content-Type"),
        limit: response.headers.get("X-RateLimit-Limit"),
        remaining: response.headers.get("X-RateLimit-Remaining"),
        body,
        reads,
    };
}"""


def test_listed_origin_streams_a_reply_with_a_token(
    client_tab: Page, cors_live: LiveServer, origins: tuple[Origin, Origin], page_wire
) -> None:
    page_wire.script(Reply(chunks=["Hello ", "from ", "the ", "model."], chunk_delay=0.05))
    client_tab.page.goto(origins[0].url)
    seen = client_tab.page.evaluate(TOKEN_AND_STREAM, [cors_live.url, PASSWORD])
    assert (seen["tokenStatus"], seen["status"]) == (201, 200)
    assert seen["type"].startswith("text/event-stream")
    assert seen["limit"] is not None and seen["remaining"] is not None  # exposed headers
    events = sse_events(seen["body"])
    assert events[0]["type"] == "start"
    assert events[-1]["type"] == "end"
    assert events[-1]["content"] == "Hello from the model."
    assert "".join(e["content"] for e in events if e["type"] == "content") == (
        "Hello from the model."
    )
    assert seen["reads"] > 1  # the body arrived in pieces, as the model answered
    stored = cors_live.messages(events[0]["sessionId"])
    assert [(m.role, m.content) for m in stored] == [
        ("user", "Hello from elsewhere"),
        ("model", "Hello from the model."),
    ]


# Runs in a page: one call, returning its status or the name of the error fetch raised.
CALL = """async ([url, init]) => {
    try {
        const response = await fetch(url, init);
        return String(response.status);
    } catch (error) {
        return error.name;
    }
}"""


def test_unlisted_origin_is_refused_by_the_browser(
    client_tab: Page, cors_live: LiveServer, origins: tuple[Origin, Origin]
) -> None:
    client_tab.page.goto(origins[1].url)
    create = {
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": f'{{"name": "spa", "username": "alice", "password": "{PASSWORD}"}}',
    }
    assert client_tab.page.evaluate(CALL, [f"{cors_live.url}/api/v1/auth/tokens", create]) == (
        "TypeError"
    )
    assert client_tab.page.evaluate(CALL, [f"{cors_live.url}/api/health", {}]) == "TypeError"
    with cors_live.app.app_context():
        tokens = db.session.scalar(select(func.count()).select_from(ApiToken))
    assert tokens == 0  # the refused preflight kept the write from being sent


def test_login_cookie_is_never_used_cross_origin(
    client_tab: Page, cors_live: LiveServer, origins: tuple[Origin, Origin]
) -> None:
    client_tab.login()  # the browser now holds alice's login cookie for the app
    client_tab.page.goto(origins[0].url)
    with_cookie = {"credentials": "include"}
    sessions = f"{cors_live.url}/api/v1/chat/sessions"
    assert client_tab.page.evaluate(CALL, [sessions, with_cookie]) == "TypeError"
    # Without credentials the cookie is not sent at all: an anonymous 401.
    assert client_tab.page.evaluate(CALL, [sessions, {}]) == "401"
