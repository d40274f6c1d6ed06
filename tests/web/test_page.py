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
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for this module (Playwright's loop must not outlive it)."""
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
        expect(self.composer()).to_be_enabled()  # the page's script is running

    def shot(self, name: str) -> None:
        """Save a screenshot into tests/artifacts/."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def sidebar_links(self) -> Any:
        return self.page.locator("#sessions .session-link")

    def messages(self) -> Any:
        return self.page.locator("#message-list li.message")

    def composer(self) -> Any:
        return self.page.get_by_role("textbox", name="Message")

    def streaming(self) -> Any:
        return self.page.locator("#message-list li.streaming")

    def send(self, text: str) -> None:
        """Type a message and press Enter."""
        self.composer().fill(text)
        self.composer().press("Enter")


@pytest.fixture
def offline_live(tmp_path: Path) -> Iterator[LiveServer]:
    """The app with no Gemini key: the offline model answers."""
    with LiveServer(tmp_path / "offline.db", OFFLINE_MODEL_DELAY=0.0) as server:
        server.create_user("alice")
        yield server


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
    tab.page.get_by_role("link", name="Settings").click()
    expect(tab.page.locator("#account")).to_contain_text("alice@example.com")
    tab.page.get_by_label("Token name").fill("phone")
    tab.page.get_by_role("button", name="Create token").click()
    expect(tab.page.locator("#token-rows tr")).to_have_count(1)
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    tab.shot("settings-360")


CODE_REPLY = [
    "Here is a **Python** example:\n\n",
    "```python\ndef greet(name):\n",
    '    return f"Hello, {name}!"\n```\n\n',
    "Call `greet` with any name.",
]
LONG_REPLY = [f"word{n} " for n in range(300)]


def test_register_chat_stop_reload_rename_delete_and_tokens(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    page = tab.page
    tab.goto("/auth/register")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Welcome, carol")).to_be_visible()
    expect(page.locator("#offline-banner")).to_have_count(0)  # a Gemini key is configured
    page.get_by_role("button", name="Log out").click()
    tab.login("carol")
    expect(page.get_by_role("heading", name="Welcome, carol")).to_be_visible()

    # A reply streams in as raw text, then the rendered HTML replaces it.
    wire.script(Reply(chunks=CODE_REPLY, chunk_delay=0.3), Reply(text="Python greetings"))
    tab.send("Show me a Python greeting")
    expect(tab.streaming()).to_contain_text("Here is a **Python**")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(tab.composer()).to_be_disabled()
    tab.shot("chat-streaming")
    expect(tab.streaming()).to_have_count(0)
    reply = tab.messages().last
    expect(reply.locator("strong")).to_have_text("Python")
    expect(reply.locator("pre.highlight code")).to_contain_text("def greet(name):")
    expect(page).to_have_url(re.compile(r"/chat/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Python greetings")).to_be_visible()
    expect(page.get_by_role("link", name="Python greetings")).to_have_attribute(
        "aria-current", "page"
    )
    expect(tab.composer()).to_be_enabled()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    tab.shot("chat-reply")

    # Stop a long reply: the part received stays, marked stopped, also after a reload.
    wire.script(Reply(chunks=LONG_REPLY, chunk_delay=0.05))
    tab.send("Now a very long story")
    expect(tab.streaming()).to_contain_text("word3 ")
    page.get_by_role("button", name="Stop").click()
    expect(tab.streaming()).to_have_count(0)
    stopped = tab.messages().last
    expect(stopped.locator(".note")).to_have_text("Stopped: the reply ends here.")
    partial = stopped.locator(".body").inner_text()
    assert "word3" in partial and "word299" not in partial
    page.reload()
    expect(tab.messages()).to_have_count(4)
    expect(tab.messages().last.locator(".body")).to_have_text(partial)
    expect(tab.messages().last).to_contain_text("Stopped: the reply ends here.")
    tab.shot("chat-stopped-after-reload")

    # Rename, then delete.
    page.get_by_role("button", name="Rename “Python greetings”").click()
    page.get_by_label("New title (Enter saves, Escape cancels)").fill("Greeters")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Greeters")).to_be_visible()
    page.get_by_role("button", name="Delete “Greeters”").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(tab.sidebar_links()).to_have_count(0)
    expect(page).to_have_url(f"{live.url}/")
    assert live.session_titles("carol") == []

    # Create a token, see it once, revoke it.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Token name").fill("ci")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("New token")).not_to_have_value("")
    page.get_by_role("button", name="Revoke token “ci”").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()


def test_xss_in_sent_message_and_streamed_reply_never_runs(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    # Payloads split across chunks, as a model might send them.
    chunks = [piece for payload in XSS_PAYLOADS for piece in (payload[:7], payload[7:] + "\n\n")]
    wire.script(Reply(chunks=chunks, chunk_delay=0.1), Reply(text="<script>alert(11)</script>"))
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


def test_failed_turn_shows_error_and_retry(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    wire.script(Reply(status=503), Reply(text="Back again"), Reply(text="Retry works"))
    tab.login()
    tab.send("Are you there?")
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("MODEL_UNAVAILABLE")
    failed = tab.messages().first
    expect(failed.locator(".note")).to_contain_text("Not answered")
    expect(tab.composer()).to_be_enabled()
    tab.shot("chat-failed-turn")
    tab.page.reload()  # a failed last message still offers Retry
    expect(alert.get_by_role("button", name="Retry")).to_be_visible()
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages()).to_have_count(3)
    expect(tab.messages().last).to_contain_text("Back again")
    expect(alert).to_have_count(0)
    tab.errors.clear()  # nothing else, but no console noise from the 503 either
    assert [m.status for m in live.messages(tab.page.url.rsplit("/", 1)[1])] == [
        "failed",
        "complete",
        "complete",
    ]


def test_reload_during_a_stream_shows_the_stored_partial_reply(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    wire.script(Reply(chunks=LONG_REPLY, chunk_delay=0.05))
    tab.login()
    tab.send("Write at length")
    expect(tab.streaming()).to_contain_text("word5 ")
    tab.page.reload()
    last = tab.messages().last
    expect(last.locator(".note")).to_have_text("Stopped: the reply ends here.")
    expect(last.locator(".body")).to_contain_text("word5")
    expect(tab.composer()).to_be_enabled()


def test_enter_sends_shift_enter_breaks_line_and_history_navigation(
    live: LiveServer, tab: Page
) -> None:
    first = live.create_session("alice", "First chat", [("user", "first text")])
    live.create_session("alice", "Second chat", [("user", "second text")])
    tab.login()
    tab.page.get_by_role("link", name="First chat").click()
    expect(tab.page.get_by_text("first text")).to_be_visible()
    tab.page.get_by_role("link", name="Second chat").click()
    expect(tab.page.get_by_text("second text")).to_be_visible()
    tab.page.go_back()
    expect(tab.page).to_have_url(f"{live.url}/chat/{first}")
    expect(tab.page.get_by_text("first text")).to_be_visible()
    expect(tab.page.get_by_role("heading", name="First chat")).to_be_visible()
    tab.page.go_back()
    expect(tab.page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    tab.page.go_forward()
    expect(tab.page.get_by_text("first text")).to_be_visible()

    composer = tab.composer()
    composer.fill("line one")
    composer.press("Shift+Enter")
    composer.press_sequentially("line two")
    expect(composer).to_have_value("line one\nline two")
    composer.press("Enter")
    expect(tab.messages().nth(1)).to_contain_text("line one\nline two")
    expect(tab.messages()).to_have_count(3)
    expect(composer).to_have_value("")
    expect(tab.sidebar_links().first).to_have_text("First chat")  # moved up, title kept
    tab.page.get_by_role("button", name="New chat").click()
    expect(tab.page).to_have_url(f"{live.url}/")
    expect(tab.page.get_by_role("heading", name="Welcome, alice")).to_be_visible()
    expect(composer).to_be_focused()


def test_offline_model_banner_and_reply(browser: Any, offline_live: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    tab = Page(context.new_page(), offline_live)
    tab.login()
    banner = tab.page.get_by_role("status").filter(has_text="offline model is answering")
    expect(banner).to_contain_text("GEMINI_API_KEY")
    tab.send("Hello offline")
    expect(tab.messages()).to_have_count(2)
    expect(tab.messages().last).to_contain_text("Hello offline")
    expect(tab.messages().last.locator(".who")).to_have_text("offline")
    tab.shot("chat-offline-dark")
    context.close()
    assert tab.dialogs == [] and tab.errors == []


def test_sse_reader_handles_split_frames_crlf_and_keepalives(tab: Page) -> None:
    tab.goto("/auth/login")
    events = tab.page.evaluate(
        """async (chunks) => {
            const { readEvents } = await import("/static/js/sse.js");
            const encoder = new TextEncoder();
            const body = new ReadableStream({
                start(controller) {
                    for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
                    controller.close();
                },
            });
            const events = [];
            for await (const event of readEvents(body)) events.push(event);
            return events;
        }""",
        [
            'data: {"type":"start","sessionId":"s1"}\r',
            '\n\r\n: keep-alive\n\ndata: {"type":"con',
            'tent","content":"a\\nb"}\n\ndata: {"type":"content",',
            '"content":"é"}\n\n: keep-alive\n\n',
            'data: {"type":"end","messageId":7}',
        ],
    )
    assert events == [
        {"type": "start", "sessionId": "s1"},
        {"type": "content", "content": "a\nb"},
        {"type": "content", "content": "é"},
        {"type": "end", "messageId": 7},
    ]


def test_second_tab_shows_a_reply_being_written_then_the_stored_reply(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    wire.script(Reply(chunks=[f"part{n} " for n in range(40)], chunk_delay=0.05))
    tab.login()
    tab.send("Write something")
    expect(tab.streaming()).to_contain_text("part1 ")
    other = Page(tab.page.context.new_page(), live)
    other.goto(tab.page.url.removeprefix(live.url))
    expect(other.streaming()).to_contain_text("A reply is being written…")
    expect(other.messages().last).to_contain_text("part39", timeout=10_000)
    expect(other.streaming()).to_have_count(0)
    expect(tab.messages().last).to_contain_text("part39")
    assert other.dialogs == [] and other.errors == []


def test_broken_stream_keeps_the_partial_reply_and_offers_retry(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    wire.script(Reply(chunks=["First half, ", "second half."], break_after=1), Reply(text="Whole"))
    tab.login()
    tab.send("Tell me")
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("MODEL_UNAVAILABLE")
    cut = tab.messages().last
    expect(cut.locator(".body")).to_have_text("First half,")
    expect(cut.locator(".note")).to_contain_text("Cut off")
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages()).to_have_count(4)
    expect(tab.messages().last).to_contain_text("Whole")


def test_a_turn_abandoned_by_a_dead_worker_ends_the_wait_and_offers_retry(
    live: LiveServer, wire: GeminiWireServer, tab: Page
) -> None:
    """A worker died mid-reply: the page waits for the reply, then shows the message as
    not answered (once the turn's lease lapses) and Retry sends it again."""
    tab.login()
    session_id = live.create_session("alice", "Dead worker", [("user", "Hi"), ("model", "Hello")])
    live.orphan_turn("alice", session_id, "Never answered", lease=4.0)
    wire.script(Reply(text="Answered now"))
    tab.goto(f"/chat/{session_id}")
    expect(tab.streaming()).to_contain_text("A reply is being written…")

    orphan = tab.messages().last
    expect(orphan.locator(".note")).to_contain_text("TURN_ABANDONED", timeout=10_000)
    expect(orphan.locator(".note")).to_contain_text("Not answered")
    expect(tab.streaming()).to_have_count(0)
    alert = tab.page.locator("#message-list").get_by_role("alert")
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages().last).to_contain_text("Answered now")
    assert [(m.content, m.status, m.error_code) for m in live.messages(session_id)[2:]] == [
        ("Never answered", "failed", "TURN_ABANDONED"),
        ("Never answered", "complete", None),
        ("Answered now", "complete", None),
    ]
