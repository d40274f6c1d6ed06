"""Branches on the chat page: Regenerate, Edit, `< 2/3 >` between versions, the active branch
kept across a reload, and the marker where the summarised messages end.

Each test gets its own app on a fresh SQLite database, served over HTTP, with the real
Gemini SDK talking to the local wire-format server (which records what the model was sent).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS


def bodies(tab: Page) -> Any:
    """The text of every message shown, oldest first."""
    return tab.page.locator("#message-list li.message .body")


def position(item: Any) -> Any:
    """The ``2/3`` of a message with other versions."""
    return item.locator(".sibling-position")


def two_exchanges(tab: Page) -> None:
    """Send two messages; the replies are scripted by the caller."""
    tab.login()
    tab.send("First question")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.composer()).to_be_enabled()
    tab.send("Second question")
    expect(tab.streaming()).to_have_count(0)
    expect(bodies(tab)).to_have_text(
        ["First question", "First answer", "Second question", "Second answer"]
    )
    expect(tab.page.locator("#message-list .siblings")).to_have_count(0)  # one version each


def test_regenerate_switch_edit_and_reload_keep_the_active_branch(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(
        Reply(text="First answer"),
        Reply(text="Branch talk"),  # the title
        Reply(text="Second answer"),
        Reply(chunks=["Second answer, ", "take ", "two"], chunk_delay=0.4),
        Reply(text="Answer to the edit"),
    )
    two_exchanges(tab)
    page = tab.page

    # Regenerate the last reply: the new version streams in, buttons wait for it.
    tab.messages().last.get_by_role("button", name="Regenerate this reply").click()
    expect(tab.streaming()).to_contain_text("Second answer,")
    expect(page.get_by_role("button", name="Edit this message").first).to_be_disabled()
    expect(tab.messages()).to_have_count(4)  # the old reply left the view
    tab.shot("branches-regenerating")
    expect(tab.streaming()).to_have_count(0)
    expect(bodies(tab)).to_have_text(
        ["First question", "First answer", "Second question", "Second answer, take two"]
    )
    reply = tab.messages().last
    expect(position(reply)).to_have_text("2/2")
    expect(reply.get_by_role("button", name="Next version")).to_be_disabled()
    expect(page.get_by_role("button", name="Edit this message").first).to_be_enabled()

    # `<` brings the first version back, from the keyboard.
    reply.get_by_role("button", name="Previous version").focus()
    page.keyboard.press("Enter")
    expect(bodies(tab).last).to_have_text("Second answer")
    reply = tab.messages().last
    expect(position(reply)).to_have_text("1/2")
    expect(reply.get_by_role("button", name="Next version")).to_be_focused()

    # Edit the first message: the second exchange leaves the view, the new reply shows.
    first = tab.messages().first
    first.get_by_role("button", name="Edit this message").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    expect(editor).to_have_value("First question")
    expect(editor).to_be_focused()
    editor.fill("First question, edited")
    tab.shot("branches-editing")
    page.get_by_role("button", name="Save & send").click()
    expect(tab.streaming()).to_have_count(0)
    expect(bodies(tab)).to_have_text(["First question, edited", "Answer to the edit"])
    expect(position(tab.messages().first)).to_have_text("2/2")
    assert page_wire.contents() == [("user", "First question, edited")]
    tab.shot("branches-edited")

    # The server remembers the active branch.
    page.reload()
    expect(bodies(tab)).to_have_text(["First question, edited", "Answer to the edit"])
    expect(position(tab.messages().first)).to_have_text("2/2")

    # Back to the original first message: both old exchanges are back.
    tab.messages().first.get_by_role("button", name="Previous version").click()
    expect(bodies(tab)).to_have_text(
        ["First question", "First answer", "Second question", "Second answer, take two"]
    )
    expect(position(tab.messages().first)).to_have_text("1/2")
    expect(position(tab.messages().last)).to_have_text("2/2")
    page.reload()
    expect(bodies(tab).first).to_have_text("First question")


def test_edit_cancels_with_escape_and_archived_shows_no_branch_buttons(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(text="First answer"), Reply(text="Old trip"))
    tab.login()
    tab.send("First question")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.composer()).to_be_enabled()

    edit = tab.messages().first.get_by_role("button", name="Edit this message")
    edit.click()
    editor = tab.page.get_by_role("textbox", name="Edit your message")
    editor.fill("Never sent")
    tab.shot("branches-edit-open")
    editor.press("Escape")
    expect(editor).to_have_count(0)
    expect(edit).to_be_focused()
    expect(bodies(tab)).to_have_text(["First question", "First answer"])

    tab.page.get_by_role("button", name="Archive “Old trip”").click()
    expect(tab.page.locator("#archived-banner")).to_be_visible()
    for name in ("Edit this message", "Regenerate this reply"):
        expect(tab.page.get_by_role("button", name=name)).to_have_count(0)
    tab.page.reload()
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.page.get_by_role("button", name="Regenerate this reply")).to_have_count(0)
    assert len(page_wire.requests) == 2  # the first reply and the title: nothing else sent


def test_a_failed_regeneration_keeps_the_reply_and_retry_regenerates(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(
        Reply(text="First answer"),
        Reply(text="Retry talk"),
        Reply(status=503),
        Reply(text="Better answer"),
    )
    tab.login()
    tab.send("First question")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.composer()).to_be_enabled()

    tab.messages().last.get_by_role("button", name="Regenerate this reply").click()
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("MODEL_UNAVAILABLE")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    tab.shot("branches-regenerate-failed")
    alert.get_by_role("button", name="Retry").click()
    expect(alert).to_have_count(0)
    expect(tab.streaming()).to_have_count(0)
    expect(bodies(tab)).to_have_text(["First question", "Better answer"])
    expect(position(tab.messages().last)).to_have_text("2/2")


#: Every model answer in the summary test: a reply, the title, and the summary (its markup
#: must show as text).
SUMMARY_TEXT = "They counted <b>apples</b> & pears."


@pytest.mark.app_config(CHAT_CONTEXT_TOKENS=60)
def test_summary_marker_shows_where_the_summarised_messages_end(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.default = Reply(text=SUMMARY_TEXT)
    tab.login()
    questions = [f"Question {n}: how many fruits are in basket {n}?" for n in range(1, 5)]
    for number, question in enumerate(questions, start=1):
        tab.send(question)
        expect(tab.streaming()).to_have_count(0)
        expect(bodies(tab)).to_have_count(2 * number)
        expect(tab.composer()).to_be_enabled()
    session_id = tab.page.url.rsplit("/", 1)[1]
    session = tab.page.request.get(f"{live.url}/api/v1/chat/session/{session_id}").json()
    summary = session["summary"]
    assert summary is not None and summary["content"] == SUMMARY_TEXT
    through = summary["throughMessageId"]
    assert through in [message["id"] for message in session["messages"][:-2]]

    marker = tab.page.locator("#message-list li.summary-marker")
    after_through = tab.page.locator(f'li.message[data-id="{through}"] + li.summary-marker')
    expect(marker).to_have_count(1)
    expect(after_through).to_have_count(1)
    tab.page.reload()
    expect(after_through).to_have_count(1)
    text = marker.locator(".summary-text")
    expect(text).to_be_hidden()
    marker.get_by_text("Earlier messages summarised").click()
    expect(text).to_have_text(SUMMARY_TEXT)  # as text: the markup is not HTML
    expect(text.locator("b")).to_have_count(0)
    tab.shot("branches-summary-marker")


def test_branch_buttons_wait_for_a_reply_another_tab_is_writing(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(
        Reply(text="First answer"),
        Reply(text="Two tabs"),
        Reply(chunks=[f"part{n} " for n in range(60)], chunk_delay=0.1),  # 6 s: room to load
    )
    tab.login()
    tab.send("First question")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.composer()).to_be_enabled()
    tab.send("Write at length")
    expect(tab.streaming()).to_contain_text("part1 ")

    other = Page(tab.page.context.new_page(), live)
    other.goto(tab.page.url.removeprefix(live.url))
    expect(other.streaming()).to_contain_text("A reply is being written…")
    edit = other.messages().first.get_by_role("button", name="Edit this message")
    expect(edit).to_be_disabled()
    expect(
        other.messages().nth(1).get_by_role("button", name="Regenerate this reply")
    ).to_be_disabled()
    expect(other.messages().last).to_contain_text("part59", timeout=20_000)
    expect(other.streaming()).to_have_count(0)
    expect(edit).to_be_enabled()
    assert other.dialogs == [] and other.errors == []


def test_a_refused_switch_shows_the_error_and_changes_nothing(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(text="First answer"), Reply(text="Refusals"), Reply(text="Other"))
    tab.login()
    tab.send("First question")
    expect(bodies(tab)).to_have_text(["First question", "First answer"])
    expect(tab.composer()).to_be_enabled()
    tab.messages().last.get_by_role("button", name="Regenerate this reply").click()
    expect(position(tab.messages().last)).to_have_text("2/2")

    other = Page(tab.page.context.new_page(), live)  # archives it behind this tab's back
    other.goto(tab.page.url.removeprefix(live.url))
    other.page.get_by_role("button", name="Archive “Refusals”").click()
    expect(other.page.locator("#archived-banner")).to_be_visible()

    tab.messages().last.get_by_role("button", name="Previous version").click()
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("SESSION_RESET")
    expect(bodies(tab)).to_have_text(["First question", "Other"])
    assert tab.errors and all("410" in error for error in tab.errors)
    tab.errors.clear()
    tab.page.reload()
    expect(bodies(tab)).to_have_text(["First question", "Other"])
