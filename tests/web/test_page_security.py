"""The browser chat page never runs what a message holds: stored, sent and streamed
payloads stay text (Debian's Chromium through Playwright, fixtures in conftest.py)."""

from __future__ import annotations

from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS

XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "[click me](javascript:alert(3))",
    '<a href="javascript:alert(4)">html link</a>',
    "![pic](javascript:alert(5))",
    '<svg onload="alert(6)"></svg>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg3KTwvc2NyaXB0Pg==)",
    '<iframe src="javascript:alert(8)"></iframe>',
    '"><img src=x onerror=alert(9)>',
]
XSS_TEXT = "\n\n".join(XSS_PAYLOADS)


def assert_nothing_injected(tab: Page) -> None:
    """No payload became markup: no script, image, frame, SVG or javascript:/data: link."""
    injected = tab.page.locator(
        "#message-list script, #message-list img, #message-list iframe, #message-list svg,"
        " #message-list [onerror], #message-list [onload],"
        " #message-list a[href^='javascript' i], #message-list a[href^='data' i]"
    )
    expect(injected).to_have_count(0)
    assert tab.dialogs == []


def test_stored_xss_payloads_never_run(live: LiveServer, tab: Page) -> None:
    session = live.create_session("alice", "<img src=x onerror=alert(0)>", [
        ("user", XSS_TEXT),
        ("model", XSS_TEXT + "\n\n```html\n<script>alert(10)</script>\n```"),
    ])  # fmt: skip
    tab.login()
    tab.goto(f"/chat/{session}")
    expect(tab.messages()).to_have_count(2)
    expect(tab.page.get_by_role("heading", name="<img src=x onerror=alert(0)>")).to_be_visible()
    expect(tab.messages().first).to_contain_text("<script>alert(2)</script>")
    expect(tab.messages().last.locator("pre code")).to_contain_text("<script>alert(10)</script>")
    assert_nothing_injected(tab)
    tab.shot("xss-stored")


def test_xss_in_sent_message_and_streamed_reply_never_runs(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    # Payloads split across chunks, as a model might send them.
    chunks = [piece for payload in XSS_PAYLOADS for piece in (payload[:7], payload[7:] + "\n\n")]
    page_wire.script(
        Reply(chunks=chunks, chunk_delay=0.1), Reply(text="<script>alert(11)</script>")
    )
    tab.login()
    tab.send(XSS_TEXT)
    expect(tab.streaming()).to_contain_text("<img src=x onerror=alert(1)>")
    assert_nothing_injected(tab)
    expect(tab.streaming()).to_have_count(0)
    expect(tab.messages()).to_have_count(2)
    expect(tab.messages().first).to_contain_text("<script>alert(2)</script>")
    expect(tab.messages().last).to_contain_text('<svg onload="alert(6)"></svg>')
    assert_nothing_injected(tab)
    expect(tab.page.get_by_role("link", name="<script>alert(11)</script>")).to_be_visible()
    tab.page.reload()
    expect(tab.messages()).to_have_count(2)
    assert_nothing_injected(tab)
