"""The browser chat page, driven in Debian's Chromium through Playwright.

Each test gets its own app on a fresh SQLite database, served over HTTP, with the real
Gemini SDK talking to the local wire-format server. Screenshots of the main states go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.app import PASSWORD
from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, LONG_REPLY, Page, expect

pytestmark = BROWSER_MARKS


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

    tab.page.get_by_label("Search titles and messages").fill("Topic 1")
    expect(links).to_have_count(10)
    expect(links.first).to_have_text("Topic 19")
    tab.page.get_by_label("Search titles and messages").fill("nothing like it")
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


def test_password_change_in_settings_logs_out_other_browsers(
    browser: Any, live: LiveServer, tab: Page
) -> None:
    other_context = browser.new_context()
    other = Page(other_context.new_page(), live)
    other.login()
    tab.login()
    tab.page.get_by_role("link", name="Settings").click()
    tab.page.get_by_label("Current password").fill("not my password")
    tab.page.get_by_label("New password").fill("a fresh long passphrase")
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#password-error")).to_contain_text("current password is wrong")
    tab.page.get_by_label("Current password").fill(PASSWORD)
    tab.page.get_by_label("New password").fill("password123")
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#password-error")).to_contain_text("most common")
    tab.page.get_by_label("New password").fill("a fresh long passphrase")
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#password-done")).to_contain_text("logged out")
    assert all(("403" in e or "400" in e) for e in tab.errors)  # the two refused attempts
    tab.errors.clear()
    tab.page.reload()
    expect(tab.page.locator("#account")).to_contain_text("alice@example.com")  # still in
    other.goto("/settings")
    expect(other.page).to_have_url(re.compile(r"/auth/login"))
    other_context.close()
    assert other.errors == []


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


def register_and_log_in(tab: Page) -> None:
    """Register carol, log out, and log in again."""
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


def stream_a_rendered_reply(tab: Page, page_wire: GeminiWireServer) -> None:
    """A reply streams in as raw text, then the rendered HTML replaces it."""
    page = tab.page
    page_wire.script(Reply(chunks=CODE_REPLY, chunk_delay=0.3), Reply(text="Python greetings"))
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


def stop_a_long_reply(tab: Page, page_wire: GeminiWireServer) -> None:
    """Stop a long reply: the part received stays, marked stopped, also after a reload."""
    page = tab.page
    page_wire.script(Reply(chunks=LONG_REPLY, chunk_delay=0.05))
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


def rename_then_delete(tab: Page, live: LiveServer) -> None:
    """Rename the conversation, then delete it."""
    page = tab.page
    page.get_by_role("button", name="Rename “Python greetings”").click()
    page.get_by_label("New title (Enter saves, Escape cancels)").fill("Greeters")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Greeters")).to_be_visible()
    page.get_by_role("button", name="Delete “Greeters”").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(tab.sidebar_links()).to_have_count(0)
    expect(page).to_have_url(f"{live.url}/")
    assert live.session_titles("carol") == []


def create_and_revoke_a_token(tab: Page) -> None:
    """Create a token, see it once, revoke it."""
    page = tab.page
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Token name").fill("ci")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("New token")).not_to_have_value("")
    page.get_by_role("button", name="Revoke token “ci”").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()


def test_register_chat_stop_reload_rename_delete_and_tokens(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    register_and_log_in(tab)
    stream_a_rendered_reply(tab, page_wire)
    stop_a_long_reply(tab, page_wire)
    rename_then_delete(tab, live)
    create_and_revoke_a_token(tab)


def test_failed_turn_shows_error_and_retry(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(status=503), Reply(text="Back again"), Reply(text="Retry works"))
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
