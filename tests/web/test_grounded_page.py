"""Grounded answers in the chat page: choose a collection, ask, follow [1] to its source.

Chromium through Playwright against the live app and the local Gemini wire server. The
collection list comes from ``GET /api/v1/collections`` (routed here to the rows the test
stores, in that endpoint's shape).
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.gemini_wire import GeminiWireServer, Reply, grounding_metadata
from tests.support.knowledge import add_collection, add_document
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS

EVIL_TITLE = "<img src=x onerror=alert(1)> Herons"
EVIL_TEXT = "Herons nest in colonies. <script>alert(2)</script><a href='javascript:alert(3)'>x</a>"


def list_collections(tab: Page, collections: list[dict[str, Any]]) -> None:
    """Answer the page's collection list with ``collections``."""
    body = json.dumps({"collections": collections})
    tab.page.route(
        "**/api/v1/collections",
        lambda route: route.fulfill(status=200, content_type="application/json", body=body),
    )


def test_cited_answer_links_to_its_source_shown_as_text(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    """[1] in the reply links to the sources panel; a hostile title and snippet stay text;
    web search suggestions are confined to a sandboxed frame."""
    birds = add_collection(live.app, "alice", "Birds")
    add_document(live.app, birds, EVIL_TITLE, [EVIL_TEXT], url="javascript:alert(4)")
    list_collections(tab, [{"id": birds, "name": "Birds", "shared": False}])
    page_wire.script(Reply(text="Herons nest in colonies [1]. Owls too [5]."))
    tab.login()
    tab.page.get_by_text("Sources: off").click()
    tab.page.get_by_label("Birds").check()
    expect(tab.page.locator("#grounding-summary")).to_have_text(": 1 collection(s)")
    tab.send("Where do herons nest?")

    reply = tab.messages().last
    cite = reply.locator("a.cite")
    expect(cite).to_have_text("[1]")
    expect(reply.locator(".body")).to_contain_text("Owls too.")  # dead marker removed
    source = reply.locator(".sources li").first
    expect(source.locator(".source-title")).to_have_text(EVIL_TITLE)
    expect(source.locator(".snippet")).to_contain_text("<script>alert(2)</script>")
    expect(source.locator("a")).to_have_count(0)  # a javascript: URL is never a link
    cite.click()
    source_id = source.get_attribute("id")
    expect(tab.page).to_have_url(f"{tab.page.url.split('#')[0]}#{source_id}")
    expect(tab.page.locator("#message-list img, #message-list script")).to_have_count(0)

    session_id = tab.page.url.split("/chat/")[1].split("#")[0]
    assert live.messages(session_id)[0].content == "Where do herons nest?"
    tab.page.get_by_label("Web search (Google Search grounding)").check()
    page_wire.script(
        Reply(
            text="Herons are birds.",
            grounding=grounding_metadata(
                [("https://example.org/herons", "example.org")],
                [("Herons are birds.", 17, [0])],
                entry_point="<script>parent.alert(5)</script><b>heron chips</b>",
            ),
        )
    )
    tab.send("Are herons birds?")
    latest = tab.messages().last
    expect(latest.locator("a.cite")).to_have_text("[2]")
    frame = latest.locator("iframe.search-suggestions")
    expect(frame).to_have_attribute("sandbox", "allow-popups allow-popups-to-escape-sandbox")
    link = latest.locator(".sources a.source-title", has_text="example.org")
    expect(link).to_have_attribute("href", "https://example.org/herons")
    tab.shot("grounded-answer")
    assert tab.dialogs == []
    # The suggestions' script was refused by the sandbox: Chromium says so in the console.
    blocked = [e for e in tab.errors if "about:srcdoc" in e and "sandboxed" in e]
    assert blocked
    tab.errors[:] = [e for e in tab.errors if e not in blocked]
