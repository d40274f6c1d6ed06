"""Fixtures of the browser page tests: one Chromium and one local Gemini per module, and per
test a live app (fresh SQLite database, user alice) and a tab that fails on script errors.

Playwright is imported only when a browser test asks for these.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gemini_wire import GeminiWireServer
from tests.support.live_server import LiveServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for this module (Playwright's loop must not outlive it)."""
    from tests.support.pages import CHROMIUM, playwright

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_wire() -> Iterator[GeminiWireServer]:
    """The pages' local Gemini: streamed replies arrive in several chunks, a little apart."""
    server = GeminiWireServer(chunk_delay=0.05, chunks=4).start()
    yield server
    # Playwright's sync API runs an event loop on this thread; the server stops its own
    # loop with run_until_complete, which asyncio refuses there.
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join()


@pytest.fixture
def live(
    request: pytest.FixtureRequest, tmp_path: Path, page_wire: GeminiWireServer
) -> Iterator[LiveServer]:
    """The app over HTTP with a fresh database and user alice, talking to ``page_wire``
    (``@pytest.mark.app_config(**config)`` adds configuration)."""
    page_wire.reset()
    config: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("app_config"))):
        config.update(marker.kwargs)  # the closest marker wins
    server = LiveServer(
        tmp_path / "page.db",
        GEMINI_API_KEY="test-key",
        GEMINI_BASE_URL=page_wire.base_url,
        GEMINI_RETRIES=1,
        **config,
    )
    with server:
        server.create_user("alice")
        yield server


@pytest.fixture
def offline_live(tmp_path: Path) -> Iterator[LiveServer]:
    """The app with no Gemini key: the offline model answers."""
    with LiveServer(tmp_path / "offline.db", OFFLINE_MODEL_DELAY=0.0) as server:
        server.create_user("alice")
        yield server


@pytest.fixture
def tab(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) at desktop size, as a ``pages.Page``."""
    from tests.support.pages import Page

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = Page(context.new_page(), live)
    yield page
    context.close()
    assert page.dialogs == [], "a dialog was opened"
    assert page.errors == [], "the page logged errors"
