"""The browser chat page, driven in Debian's Chromium through Playwright.

Each test gets its own app on a fresh SQLite database, served over HTTP, with the real
Gemini SDK talking to the local wire-format server. Screenshots of the main states go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.gemini_wire import GeminiWireServer
from tests.live_server import LiveServer

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def wire() -> Iterator[GeminiWireServer]:
    """The local Gemini: streamed replies arrive in several chunks, a little apart."""
    server = GeminiWireServer(chunk_delay=0.05, chunks=4).start()
    yield server
    # Playwright's sync API runs an event loop on this thread; the server stops its own
    # loop with run_until_complete, which asyncio refuses there.
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join()


@pytest.fixture
def live(tmp_path: Path, wire: GeminiWireServer) -> Iterator[LiveServer]:
    """The app over HTTP with a fresh database and user alice."""
    wire.reset()
    server = LiveServer(
        tmp_path / "page.db",
        GEMINI_API_KEY="test-key",
        GEMINI_BASE_URL=wire.base_url,
        GEMINI_RETRIES=1,
    )
    with server:
        server.create_user("alice")
        yield server


class Page:
    """A browser tab on the live app that fails the test on any script error or dialog."""

    def __init__(self, page: Any, live: LiveServer) -> None:
        self.page = page
        self.live = live
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._on_console)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def goto(self, path: str) -> Any:
        """Open a path of the app."""
        return self.page.goto(self.live.url + path)

    def login(self, username: str = "alice", password: str = PASSWORD) -> None:
        """Log in through the form and land on the chat page."""
        self.goto("/auth/login")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("textbox", name="Message")).to_be_visible()

    def shot(self, name: str) -> None:
        """Save a screenshot into tests/artifacts/."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def sidebar_links(self) -> Any:
        return self.page.locator("#sessions .session-link")

    def messages(self) -> Any:
        return self.page.locator("#message-list li.message")


@pytest.fixture
def tab(browser: Any, live: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = Page(context.new_page(), live)
    yield page
    context.close()
    assert page.dialogs == [], "a dialog was opened"
    assert page.errors == [], "the page logged errors"


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


def test_sidebar_lists_newest_first_loads_more_on_scroll_and_filters(
    live: LiveServer, tab: Page
) -> None:
    for number in range(45):
        live.create_session("alice", f"Topic {number:02d}", [("user", "hi")])
    tab.login()
    links = tab.sidebar_links()
    expect(links.first).to_have_text("Topic 44")
    expect(links).to_have_count(30)
    tab.page.locator("#sessions-scroll").evaluate("el => el.scrollTop = el.scrollHeight")
    expect(links).to_have_count(45)
    expect(links.last).to_have_text("Topic 00")

    tab.page.get_by_label("Filter conversations by title").fill("Topic 1")
    expect(links).to_have_count(10)
    expect(links.first).to_have_text("Topic 19")
    tab.page.get_by_label("Filter conversations by title").fill("nothing like it")
    expect(links).to_have_count(0)
    expect(tab.page.locator("#sessions-status")).to_contain_text("No conversation")


def test_rename_inline_and_delete_with_confirmation(live: LiveServer, tab: Page) -> None:
    first = live.create_session("alice", "Old name", [("user", "hello"), ("model", "hi there")])
    live.create_session("alice", "Keep me", [("user", "x")])
    tab.login()
    tab.page.get_by_role("link", name="Old name").click()
    expect(tab.page).to_have_url(f"{live.url}/chat/{first}")
    expect(tab.page.get_by_role("heading", name="Old name")).to_be_visible()

    tab.page.get_by_role("button", name="Rename “Old name”").click()
    title = tab.page.get_by_label("New title (Enter saves, Escape cancels)")
    title.fill("Discarded")
    title.press("Escape")
    expect(tab.page.get_by_role("link", name="Old name")).to_be_visible()
    tab.page.get_by_role("button", name="Rename “Old name”").click()
    title.fill("Trip to Lisbon")
    title.press("Enter")
    expect(tab.page.get_by_role("link", name="Trip to Lisbon")).to_be_visible()
    expect(tab.page.get_by_role("heading", name="Trip to Lisbon")).to_be_visible()
    tab.page.reload()
    expect(tab.page.get_by_role("heading", name="Trip to Lisbon")).to_be_visible()

    tab.page.get_by_role("button", name="Delete “Trip to Lisbon”").click()
    dialog = tab.page.get_by_role("dialog", name="Delete this conversation?")
    expect(dialog).to_contain_text("Trip to Lisbon")
    tab.shot("delete-confirmation")
    dialog.get_by_role("button", name="Cancel").click()
    expect(tab.sidebar_links()).to_have_count(2)
    tab.page.get_by_role("button", name="Delete “Trip to Lisbon”").click()
    tab.page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(tab.sidebar_links()).to_have_count(1)
    expect(tab.page).to_have_url(f"{live.url}/")
    assert live.session_titles("alice") == ["Keep me"]


def test_older_messages_load_when_scrolling_up(live: LiveServer, tab: Page) -> None:
    turns = [("user" if n % 2 == 0 else "model", f"message number {n}") for n in range(70)]
    session = live.create_session("alice", "Long talk", turns)
    tab.login()
    tab.goto(f"/chat/{session}")
    expect(tab.page.get_by_text("message number 69")).to_be_in_viewport()
    expect(tab.messages()).to_have_count(30)
    tab.page.locator("#messages").evaluate("el => el.scrollTop = 0")
    expect(tab.messages()).to_have_count(60)
    tab.page.locator("#messages").evaluate("el => el.scrollTop = 0")
    expect(tab.messages()).to_have_count(70)
    expect(tab.messages().first).to_contain_text("message number 0")
    expect(tab.page.locator("#older-status")).to_have_text("Start of the conversation")


def test_unknown_or_foreign_conversation_is_not_found(live: LiveServer, tab: Page) -> None:
    live.create_user("bob")
    bobs = live.create_session("bob", "Bob's secret", [("user", "bob private text")])
    tab.login()
    for path in (f"/chat/{bobs}", "/chat/00000000-0000-0000-0000-000000000000", "/chat/nope"):
        response = tab.goto(path)
        assert response.status == 404
        expect(tab.page.get_by_role("heading", name="Conversation not found")).to_be_visible()
    expect(tab.page.get_by_text("bob private text")).to_have_count(0)
    tab.errors.clear()  # the browser logs each 404 page load


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


def test_settings_shows_account_and_manages_tokens(live: LiveServer, tab: Page) -> None:
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    tab.login()
    tab.page.get_by_role("link", name="Settings").click()
    account = tab.page.locator("#account")
    expect(account).to_contain_text("alice@example.com")
    expect(tab.page.get_by_text("No tokens yet.")).to_be_visible()

    tab.page.get_by_label("Token name").fill("laptop")
    tab.page.get_by_role("button", name="Create token").click()
    secret_field = tab.page.get_by_label("New token")
    expect(secret_field).to_have_value(re.compile(r"^\S{20,}$"))
    secret = secret_field.input_value()
    tab.page.get_by_role("button", name="Copy token").click()
    expect(tab.page.get_by_role("button", name="Copy token")).to_have_text("Copied")
    assert tab.page.evaluate("navigator.clipboard.readText()") == secret
    row = tab.page.locator("#token-rows tr", has_text="laptop")
    expect(row).to_have_count(1)
    tab.shot("settings-token-created")

    api = tab.page.context.request
    me = api.get(f"{live.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "alice"
    tab.page.get_by_role("button", name="Revoke token “laptop”").click()
    tab.page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    gone = api.get(f"{live.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status == 401
    tab.page.reload()
    expect(tab.page.get_by_label("New token")).to_be_hidden()  # shown once only


def test_narrow_screen_and_keyboard(live: LiveServer, tab: Page) -> None:
    live.create_session("alice", "Pocket chat", [("user", "small screens")])
    tab.page.set_viewport_size({"width": 360, "height": 740})
    tab.login()
    sidebar = tab.page.get_by_role("complementary", name="Conversations")
    expect(sidebar).to_be_hidden()
    tab.shot("chat-360")
    toggle = tab.page.get_by_role("button", name="Show conversations")
    toggle.focus()
    tab.page.keyboard.press("Enter")
    expect(sidebar).to_be_visible()
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the page scrolls sideways"
    tab.shot("chat-360-sidebar")
    tab.page.get_by_role("link", name="Pocket chat").focus()
    outline = tab.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "keyboard focus is not visible"
    tab.page.keyboard.press("Enter")
    expect(sidebar).to_be_hidden()
    expect(tab.page.get_by_text("small screens")).to_be_visible()
