"""The Knowledge page in Debian's Chromium: upload → ready, and privacy between users.

The app runs its in-process job runner here (as in production), so a dropped or picked
file is indexed without the test calling anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.clients import AuthActions
from tests.support.gemini_wire import GeminiWireServer
from tests.support.live_server import LiveServer
from tests.support.pages import CHROMIUM, Page, expect


def test_knowledge_page_is_a_shell_under_the_page_policy(
    auth: AuthActions, client: FlaskClient
) -> None:
    """The page is a script-free shell; every page links to it."""
    assert client.get("/knowledge").status_code == 302
    auth.login()
    response = client.get("/knowledge")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<script type="module" src="/static/js/knowledge.js">' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\s(on[a-z]+|style)=", html)
    assert '<a href="/knowledge" aria-current="page">Knowledge</a>' in html
    assert '<a href="/knowledge">Knowledge</a>' in client.get("/settings").get_data(as_text=True)


@pytest.fixture
def knowledge_live(tmp_path: Path, wire: GeminiWireServer) -> Iterator[LiveServer]:
    """The app over HTTP, embedding through the wire server, running jobs in a thread."""
    wire.reset()
    server = LiveServer(
        tmp_path / "page.db",
        GEMINI_API_KEY="test-key",
        GEMINI_BASE_URL=wire.base_url,
        GEMINI_RETRIES=1,
        GEMINI_EMBEDDING_DIM=16,
        JOBS_IN_APP_WHEN_TESTING=True,
    )
    with server:
        server.create_user("alice")
        server.create_user("bob")
        yield server
        runner = server.app.extensions.get("jobs")
        if runner is not None:
            runner.stop()


@pytest.fixture
def knowledge_tab(browser: Any, knowledge_live: LiveServer) -> Iterator[Page]:
    """A fresh browser context that fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = Page(context.new_page(), knowledge_live)
    yield page
    context.close()
    # Chromium logs every 4xx answer as "Failed to load resource"; refusals are tested here.
    errors = [e for e in page.errors if not e.startswith("Failed to load resource")]
    assert errors == [], "the page logged errors"


def create_collection(knowledge_tab: Page, name: str) -> None:
    """Create a collection through the form; it opens."""
    knowledge_tab.page.get_by_placeholder("New collection name").fill(name)
    knowledge_tab.page.get_by_role("button", name="Create collection").click()
    expect(knowledge_tab.page.locator("#collection-title")).to_have_text(name)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package")
def test_upload_becomes_ready_and_text_stays_text(knowledge_tab: Page, tmp_path: Path) -> None:
    """Picked and dropped files upload and turn ready; a title with markup stays text."""
    knowledge_tab.login()
    knowledge_tab.goto("/knowledge")
    create_collection(knowledge_tab, "Garden")
    notes = tmp_path / "<img src=x onerror=alert(1)>.md"
    notes.write_text("# Tomatoes\n\n" + "Water tomatoes in the morning. " * 80)
    knowledge_tab.page.locator("#file-input").set_input_files(str(notes))
    item = knowledge_tab.page.locator(".document-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-status", "ready", timeout=20_000)
    expect(item.locator(".document-title")).to_have_text(notes.name)
    expect(item.locator(".document-status")).to_contain_text("Ready")
    assert knowledge_tab.page.locator(".document-item img").count() == 0
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    knowledge_tab.page.locator("#file-input").set_input_files(str(image))
    refused = knowledge_tab.page.locator(".upload-item", has_text="photo.png")
    expect(refused).to_contain_text("Failed: photo.png is not a supported type")
    dropped = knowledge_tab.page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["Pears ripen off the tree."], "pears.txt"));
            return data;
        }"""
    )
    knowledge_tab.page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    pears = knowledge_tab.page.locator(".document-item", has_text="pears.txt")
    expect(pears).to_have_attribute("data-status", "ready", timeout=20_000)
    expect(knowledge_tab.page.locator(".document-item")).to_have_count(2)
    item = knowledge_tab.page.locator(".document-item", has_text="onerror")
    expect(knowledge_tab.page.locator(".collection-item")).to_contain_text("2 documents")
    knowledge_tab.page.get_by_role("button", name=f"Delete {notes.name}").click()
    knowledge_tab.page.get_by_role("button", name="Delete", exact=True).click()
    expect(item).to_have_count(0)
    expect(knowledge_tab.page.locator(".document-item")).to_have_count(1)
    expect(knowledge_tab.page.locator(".collection-item")).to_contain_text("1 document")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package")
def test_another_user_never_sees_a_private_collection(
    browser: Any, knowledge_live: LiveServer, knowledge_tab: Page
) -> None:
    """alice's collection is not listed for bob."""
    knowledge_tab.login("alice")
    knowledge_tab.goto("/knowledge")
    create_collection(knowledge_tab, "Alice private notes")
    context = browser.new_context()
    other = Page(context.new_page(), knowledge_live)
    try:
        other.login("bob")
        other.goto("/knowledge")
        expect(other.page.locator("#collections-empty")).to_be_visible()
        expect(other.page.locator(".collection-item")).to_have_count(0)
        assert "Alice private notes" not in other.page.content()
        assert other.errors == []
    finally:
        context.close()
