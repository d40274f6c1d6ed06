"""The weekly insights page and the personality picker of a new chat.

The page route is tested like the other page shells (login, CSP); the page itself and the
picker in Debian's Chromium through Playwright, with the fixtures of ``tests/web/conftest.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from chatapp.services import accounts
from chatapp.services.chat.personalities import BUILTINS
from chatapp.services.insights.weeks import week_at
from tests.support.clients import AuthActions
from tests.support.gemini_wire import GENERATE_METHODS, GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import CHROMIUM, Page, expect

REVIEW = [
    "## Your Week in Review\n\n",
    "You planned a **garden** ",
    "and asked about tomatoes.\n\n",
    "- Water in the morning\n",
]


def test_insights_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/insights")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_insights_page_is_a_shell_under_the_page_policy(
    auth: AuthActions, client: FlaskClient
) -> None:
    auth.login()
    response = client.get("/insights")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    header = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in header and "unsafe-inline" not in header
    html = response.get_data(as_text=True)
    assert '<script type="module" src="/static/js/insights.js">' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\s(on[a-z]+|style)=", html)
    assert '<a href="/insights" aria-current="page">Weekly insights</a>' in html


def test_every_page_links_to_the_insights_page(auth: AuthActions, client: FlaskClient) -> None:
    auth.login()
    for path in ("/", "/settings"):
        html = client.get(path).get_data(as_text=True)
        assert '<a href="/insights">Weekly insights</a>' in html


@pytest.mark.parametrize("path", ["/static/js/insights.js", "/static/js/personalities.js"])
def test_page_scripts_are_served(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype in {"text/javascript", "application/javascript"}
    response.close()


def browser_test(function: Callable[..., None]) -> Callable[..., None]:
    """Mark a test as driving Chromium (skipped without Debian's chromium package)."""
    needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
    return pytest.mark.browser(needs_chromium(function))


def open_insights(tab: Page) -> None:
    """Log in, follow the nav link, and wait for this week's state to load."""
    tab.login()
    tab.page.get_by_role("link", name="Weekly insights").click()
    expect(tab.page.get_by_role("heading", name="This week")).to_be_visible()
    expect(tab.page.locator("#generate")).to_be_enabled()


def streamed(page_wire: GeminiWireServer) -> list[int]:
    """The indexes of the streamed model requests (chat turns; titles are not streamed)."""
    return [n for n, r in enumerate(page_wire.requests) if r.method_name == "streamGenerateContent"]


def model_requests(page_wire: GeminiWireServer) -> list[int]:
    """The indexes of the requests for model answers (not token counts)."""
    return [n for n, r in enumerate(page_wire.requests) if r.method_name in GENERATE_METHODS]


def generate_and_see_it_stream(tab: Page, page_wire: GeminiWireServer) -> None:
    """Generate: the insight streams in as raw text, then the stored one is rendered."""
    current = tab.page.locator("#current-insight")
    tab.page.get_by_role("button", name="Generate").click()
    # Streaming in: raw text first, before the stream is done.
    expect(current).to_have_attribute("aria-busy", "true")
    expect(current).to_contain_text("You planned a **garden**")
    # Done: the stored insight, rendered by the server.
    expect(current.get_by_role("heading", name="Your Week in Review")).to_be_visible()
    expect(current.locator("strong")).to_have_text("garden")
    expect(current).to_contain_text("Based on 1 conversation")
    expect(tab.page.locator("#generate")).to_be_focused()
    assert "How do I grow tomatoes?" in page_wire.contents(model_requests(page_wire)[0])[0][1]
    tab.shot("insights-generated")


def regenerate_replaces_it(tab: Page, page_wire: GeminiWireServer) -> None:
    """The history shows the insight; Regenerate replaces it in place."""
    current = tab.page.locator("#current-insight")
    history = tab.page.locator("#history > li")
    expect(history).to_have_count(1)
    expect(history.first.locator("summary")).to_contain_text("1 conversation")
    history.first.locator("summary").click()
    expect(history.first.locator("li")).to_have_text("Water in the morning")

    tab.page.get_by_role("button", name="Regenerate").click()
    expect(current).to_contain_text("A second look at the garden.")
    expect(current.locator("strong")).to_have_count(0)
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("A second look at the garden.")
    assert len(model_requests(page_wire)) == 2


def delete_after_confirmation(tab: Page) -> None:
    """Cancel keeps the insight; Delete removes it, also after a reload."""
    current = tab.page.locator("#current-insight")
    history = tab.page.locator("#history > li")
    delete = history.first.get_by_role("button", name=re.compile("^Delete the insight for "))
    delete.click()
    dialog = tab.page.get_by_role("dialog", name="Delete this insight?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(delete).to_be_focused()
    expect(history).to_have_count(1)
    delete.click()
    dialog.get_by_role("button", name="Delete").click()
    expect(history).to_have_count(0)
    expect(tab.page.get_by_text("No insights yet.")).to_be_visible()
    expect(current).to_be_hidden()
    expect(tab.page.get_by_role("button", name="Generate")).to_be_visible()
    tab.page.reload()
    expect(tab.page.locator("#generate")).to_have_text("Generate")
    expect(history).to_have_count(0)


@browser_test
def test_generate_regenerate_history_and_delete(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    live.create_session("alice", "Garden", [("user", "How do I grow tomatoes?")])
    page_wire.script(
        Reply(chunks=REVIEW, chunk_delay=0.3),
        Reply(chunks=["## Your Week in Review\n\n", "A second look at the garden."]),
    )
    open_insights(tab)
    current = tab.page.locator("#current-insight")
    expect(current).to_be_hidden()
    expect(tab.page.get_by_role("status")).to_have_text("No insight for this week yet.")
    expect(tab.page.get_by_text("No insights yet.")).to_be_visible()

    generate_and_see_it_stream(tab, page_wire)
    regenerate_replaces_it(tab, page_wire)
    delete_after_confirmation(tab)


@browser_test
def test_broken_stream_saves_nothing_and_says_so(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    live.create_session("alice", "Garden", [("user", "Tomatoes?")])
    page_wire.script(Reply(chunks=REVIEW, break_after=2), Reply(chunks=REVIEW))
    open_insights(tab)
    tab.page.get_by_role("button", name="Generate").click()
    expect(tab.page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(tab.page.locator("#current-insight")).to_be_hidden()
    expect(tab.page.locator("#history > li")).to_have_count(0)
    tab.page.get_by_role("button", name="Generate").click()  # trying again works
    expect(tab.page.locator("#current-insight strong")).to_have_text("garden")
    expect(tab.page.get_by_role("alert")).to_be_hidden()
    expect(tab.page.locator("#history > li")).to_have_count(1)


@browser_test
def test_rate_limit_is_shown_and_keeps_the_insight(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    live.app.config["RATELIMIT_INSIGHTS"] = "1 per hour"
    live.create_session("alice", "Garden", [("user", "Tomatoes?")])
    page_wire.script(Reply(chunks=REVIEW))
    open_insights(tab)
    tab.page.get_by_role("button", name="Generate").click()
    current = tab.page.locator("#current-insight")
    expect(current.locator("strong")).to_have_text("garden")
    tab.page.get_by_role("button", name="Regenerate").click()
    alert = tab.page.locator("#current-error")
    expect(alert).to_contain_text("Nothing was saved.")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).not_to_contain_text("The server answered")  # the API's own message
    expect(current.locator("strong")).to_have_text("garden")  # the stored insight stays
    expect(tab.page.get_by_role("button", name="Regenerate")).to_be_focused()
    assert len(model_requests(page_wire)) == 1
    assert tab.errors and all("429" in error for error in tab.errors)  # the refused request
    tab.errors.clear()


@browser_test
def test_week_without_conversations_asks_to_chat_first(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: the browser's (UTC) dates would be a day off
    with live.app.app_context():
        accounts.update_settings(accounts.find_user("alice"), zone)
    open_insights(tab)
    week = week_at(datetime.now(UTC), zone)
    start, end = (moment.astimezone(ZoneInfo(zone)) for moment in (week.start, week.end))
    dates = tab.page.locator("#current-week")
    expect(dates).to_contain_text(f"{start:%b} {start.day}")  # as in "Nov 21 - 27, 2026"
    expect(dates).to_contain_text(f"{end.day}, {end.year}")
    tab.page.get_by_role("button", name="Generate").click()
    expect(tab.page.get_by_role("status")).to_contain_text("No conversations found")
    expect(tab.page.locator("#generate")).to_have_text("Generate")
    assert model_requests(page_wire) == []


@browser_test
def test_narrow_dark_insights_page(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, color_scheme="dark")
    tab = Page(context.new_page(), live)
    try:
        open_insights(tab)
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 27)"  # --bg of the dark scheme
        tab.shot("insights-narrow-dark")
    finally:
        context.close()
    assert tab.errors == [] and tab.dialogs == []


@browser_test
def test_personality_of_a_new_chat_is_sent_as_system_instruction(
    live: LiveServer, tab: Page, page_wire: GeminiWireServer
) -> None:
    coach = next(row for row in BUILTINS if row["id"] == "coach")
    page_wire.script(Reply(text="Let us set a goal."))  # then echoes (the title, the next turn)
    tab.login()
    picker = tab.page.get_by_label("Personality")
    expect(picker.locator("option")).to_have_count(len(BUILTINS) + 1)
    picker.select_option(label=coach["name"])
    expect(tab.page.locator("#personality-prompt")).to_have_text(coach["system_prompt"])
    tab.send("Help me run more")
    expect(tab.messages().last).to_contain_text("Let us set a goal.")
    expect(tab.page).to_have_url(re.compile(r"/chat/[0-9a-f-]+$"))
    expect(picker).to_be_hidden()  # the conversation has its personality now
    assert page_wire.system_instruction(streamed(page_wire)[0]) == coach["system_prompt"]

    tab.send("And then?")  # later turns keep it, without choosing again
    expect(tab.messages().last).to_contain_text("Echo: And then?")
    turns = streamed(page_wire)
    assert len(turns) == 2
    assert page_wire.system_instruction(turns[-1]) == coach["system_prompt"]

    tab.page.get_by_role("button", name="New chat").click()
    expect(picker).to_be_visible()
