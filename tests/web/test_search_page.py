"""Searching messages from the sidebar's filter, in Chromium: hits with marked snippets
open their conversation at the message, highlighted."""

from __future__ import annotations

import re

from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS


def test_search_opens_the_conversation_at_the_message(live: LiveServer, tab: Page) -> None:
    turns = [("user" if n % 2 == 0 else "model", f"filler message number {n}") for n in range(70)]
    turns[3] = ("model", "The regex for a date is \\d{4}-\\d{2}-\\d{2}, anchored.")
    long_talk = live.create_session("alice", "Long talk", turns)
    live.create_session("alice", "Regex titles", [("user", "nothing to see")])
    live.create_session("alice", "Markup", [("user", "<img src=x onerror=alert(1)> regex in html")])
    tab.login()

    tab.page.get_by_label("Search titles and messages").fill("regex")

    expect(tab.sidebar_links()).to_have_count(1)
    expect(tab.sidebar_links().first).to_have_text("Regex titles")
    hits = tab.page.locator("#hits .hit-link")
    expect(hits).to_have_count(2)
    expect(tab.page.locator("#hits-status")).to_have_text("2 messages.")
    markup = hits.filter(has_text="Markup")
    expect(markup.locator(".hit-snippet")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(markup.locator("img")).to_have_count(0)
    expect(markup.locator("mark")).to_have_text("regex")
    tab.shot("message-search")

    hit = hits.filter(has_text="Long talk")
    expect(hit.locator("mark")).to_have_text("regex")
    message_id = hit.get_attribute("data-message-id")
    hit.click()

    expect(tab.page).to_have_url(f"{live.url}/chat/{long_talk}#message-{message_id}")
    target = tab.page.locator(f'#message-list li.message[data-id="{message_id}"]')
    expect(target).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    expect(tab.page.get_by_role("heading", name="Long talk")).to_be_visible()

    tab.page.reload()
    expect(target).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(target).to_be_in_viewport()


def test_search_without_matches_says_so(live: LiveServer, tab: Page) -> None:
    live.create_session("alice", "Something", [("user", "ordinary words")])
    tab.login()

    tab.page.get_by_label("Search titles and messages").fill('"unclosed NEAR( OR *')

    expect(tab.page.locator("#hits-status")).to_have_text("No message has all of these words.")
    tab.page.get_by_label("Search titles and messages").fill("")
    expect(tab.page.locator("#hits-section")).to_be_hidden()
    expect(tab.sidebar_links()).to_have_count(1)
