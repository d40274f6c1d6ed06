"""Archiving on the chat page: archive, the Archived list, read-only, unarchive."""

from __future__ import annotations

from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS


def test_archive_show_archived_and_unarchive(live: LiveServer, tab: Page) -> None:
    trip = live.create_session("alice", "Trip to Lisbon", [("user", "hello"), ("model", "hi")])
    live.create_session("alice", "Keep me", [("user", "x")])
    tab.login()
    tab.page.get_by_role("link", name="Trip to Lisbon").click()
    expect(tab.composer()).to_be_enabled()

    tab.page.get_by_role("button", name="Archive “Trip to Lisbon”").click()
    expect(tab.sidebar_links()).to_have_text(["Keep me"])
    banner = tab.page.locator("#archived-banner")
    expect(banner).to_be_visible()
    expect(tab.composer()).to_be_disabled()
    expect(tab.messages()).to_have_count(2)  # still readable
    tab.page.reload()
    expect(banner).to_be_visible()
    expect(tab.composer()).to_be_disabled()

    archived_toggle = tab.page.get_by_role("button", name="Archived")
    archived_toggle.click()
    expect(archived_toggle).to_have_attribute("aria-pressed", "true")
    expect(tab.sidebar_links()).to_have_text(["Trip to Lisbon"])
    tab.shot("archived-list")
    tab.page.get_by_role("button", name="Unarchive “Trip to Lisbon”").click()
    expect(tab.sidebar_links()).to_have_count(0)
    expect(tab.page.locator("#sessions-status")).to_have_text("No archived conversations.")
    expect(banner).to_be_hidden()
    expect(tab.composer()).to_be_enabled()

    archived_toggle.click()
    expect(tab.sidebar_links()).to_have_text(["Trip to Lisbon", "Keep me"])
    tab.send("Back again")
    expect(tab.streaming()).to_have_count(0)
    expect(tab.composer()).to_be_enabled()
    expect(tab.messages()).to_have_count(4)
    assert [m.content for m in live.messages(trip)][2:3] == ["Back again"]


def test_unarchive_from_the_open_conversation(live: LiveServer, tab: Page) -> None:
    trip = live.create_session("alice", "Old trip", [("user", "hello")])
    tab.login()
    tab.page.get_by_role("button", name="Archive “Old trip”").click()
    expect(tab.sidebar_links()).to_have_count(0)
    tab.goto(f"/chat/{trip}")
    banner = tab.page.locator("#archived-banner")
    expect(banner).to_be_visible()
    expect(tab.page.get_by_role("button", name="Send")).to_be_disabled()

    banner.get_by_role("button", name="Unarchive").click()
    expect(banner).to_be_hidden()
    expect(tab.composer()).to_be_enabled()
    expect(tab.sidebar_links()).to_have_text(["Old trip"])
