"""Attachments on the chat page, in Chromium: paste, pick and drop files, remove one before
sending, images shown and enlarged, other files as download chips, upload errors.

The offline model answers (it names the files it received), on a fresh SQLite database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gemini_wire import GeminiWireServer, Reply
from tests.support.live_server import LiveServer
from tests.support.pages import BROWSER_MARKS, Page, expect

pytestmark = BROWSER_MARKS

# Pastes a PNG drawn on a canvas into the message box, as a real clipboard paste event.
PASTE_PNG = """async ([name, width, height]) => {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#c03";
  context.fillRect(0, 0, width, height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], name, { type: "image/png" }));
  const init = { clipboardData: data, bubbles: true, cancelable: true };
  document.getElementById("message").dispatchEvent(new ClipboardEvent("paste", init));
}"""
# A DataTransfer holding one text file, to drop on the composer.
DROPPED_TEXT = """([name, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type: "text/plain" }));
  return data;
}"""
STORED_FILES = "fetch('/api/v1/files').then((response) => response.json())"


def open_tab(browser: Any, live: LiveServer) -> Iterator[Page]:
    """A logged-in tab on ``live`` that fails the test on a script error or a dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = Page(context.new_page(), live)
    tab.login()
    yield tab
    context.close()
    assert tab.dialogs == [], "a dialog was opened"
    assert tab.errors == [], "the page logged errors"


@pytest.fixture
def offline_tab(browser: Any, offline_live: LiveServer) -> Iterator[Page]:
    """The chat page with the offline model answering."""
    yield from open_tab(browser, offline_live)


def paste_png(tab: Page, name: str, width: int = 40, height: int = 30) -> None:
    tab.page.evaluate(PASTE_PNG, [name, width, height])


def tray(tab: Page) -> Any:
    return tab.page.get_by_role("list", name="Files to send")


def inline_types(wire: GeminiWireServer, index: int = -1) -> list[str]:
    """The media types of the inline parts in request ``index`` to the model."""
    body = wire.requests[index].body or {}
    parts = [part for content in body.get("contents") or [] for part in content["parts"]]
    return [part["inlineData"]["mimeType"] for part in parts if "inlineData" in part]


def natural_width(image: Any) -> int:
    """The width of a loaded image's picture (0 if it cannot be decoded)."""
    return int(image.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)"))


def test_pasted_image_is_sent_shown_enlarged_and_still_there_after_reload(
    offline_tab: Page,
) -> None:
    tab = offline_tab
    paste_png(tab, "red-square.png")
    thumbnail = tray(tab).get_by_role("img", name="red-square.png")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_attribute("src", re.compile(r"^blob:"))
    tab.shot("attachments-tray")
    tab.send("What colour is this?")

    user = tab.messages().first
    image = user.get_by_role("img", name="red-square.png")
    expect(image).to_have_attribute("src", re.compile(r"^/api/v1/files/[^/]+/content$"))
    expect(user).to_contain_text("What colour is this?")
    expect(tab.messages()).to_have_count(2)
    expect(tab.messages().last).to_contain_text("red-square.png")  # the offline model saw it
    expect(tray(tab)).to_be_hidden()

    tab.page.reload()
    image = tab.messages().first.get_by_role("img", name="red-square.png")
    expect(image).to_be_visible()
    assert natural_width(image) == 40
    tab.shot("attachments-conversation")

    tab.messages().first.get_by_role("button", name="Enlarge red-square.png").click()
    lightbox = tab.page.get_by_role("dialog", name="red-square.png")
    expect(lightbox).to_be_visible()
    expect(lightbox.get_by_role("img")).to_be_visible()
    tab.shot("attachments-lightbox")
    tab.page.keyboard.press("Escape")
    expect(lightbox).to_have_count(0)
    tab.messages().first.get_by_role("button", name="Enlarge red-square.png").click()
    lightbox.click()
    expect(lightbox).to_have_count(0)


def test_picked_text_file_is_a_download_chip_and_svg_never_an_image(offline_tab: Page) -> None:
    tab = offline_tab
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    tab.page.locator("#attach-file").set_input_files(
        [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"shopping: eggs\n"},
            {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": svg},
        ]
    )
    expect(tray(tab).locator(".file-chip")).to_have_count(2)
    expect(tray(tab)).to_contain_text("notes.txt")
    expect(tray(tab).get_by_role("img")).to_have_count(0)
    tab.composer().press("Enter")  # no text: the files alone are a message

    user = tab.messages().first
    chip = user.get_by_role("link", name=re.compile("notes.txt"))
    expect(chip).to_have_attribute("href", re.compile(r"^/api/v1/files/[^/]+/content$"))
    expect(user.get_by_role("link", name=re.compile("logo.svg"))).to_be_visible()
    expect(user.locator("img, iframe, object, embed")).to_have_count(0)
    expect(tab.messages().last).to_contain_text("notes.txt")
    with tab.page.expect_download() as download:
        chip.click()
    assert download.value.suggested_filename == "notes.txt"
    assert Path(download.value.path()).read_bytes() == b"shopping: eggs\n"


def test_removed_thumbnail_is_not_sent_and_dropped_file_is(offline_tab: Page) -> None:
    tab = offline_tab
    paste_png(tab, "keep.png")
    paste_png(tab, "drop-me.png")
    expect(tray(tab).get_by_role("img")).to_have_count(2)
    expect(tray(tab).locator(".uploading")).to_have_count(0)
    tab.page.get_by_role("button", name="Remove drop-me.png").click()
    expect(tray(tab).get_by_role("img")).to_have_count(1)
    data = tab.page.evaluate_handle(DROPPED_TEXT, ["dropped.txt", "from the desktop"])
    tab.page.dispatch_event("#composer", "drop", {"dataTransfer": data})
    expect(tray(tab)).to_contain_text("dropped.txt")
    tab.send("Two files")

    user = tab.messages().first
    expect(user.get_by_role("img", name="keep.png")).to_be_visible()
    expect(user.get_by_role("link", name=re.compile("dropped.txt"))).to_be_visible()
    expect(tab.messages()).to_have_count(2)
    expect(tab.messages().last).to_contain_text("dropped.txt")  # the offline model's report
    expect(tab.messages().last).not_to_contain_text("drop-me.png")
    expect(user.get_by_role("img", name="drop-me.png")).to_have_count(0)
    names = sorted(file["name"] for file in tab.page.evaluate(STORED_FILES)["files"])
    assert names == ["dropped.txt", "keep.png"]  # the removed upload was deleted


@pytest.mark.app_config(FILES_MAX_BYTES=1024)
def test_upload_over_the_limit_shows_the_servers_message(offline_tab: Page) -> None:
    tab = offline_tab
    tab.page.locator("#attach-file").set_input_files(
        {"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * 4096}
    )
    error = tab.page.get_by_role("alert")
    expect(error).to_contain_text("big.txt:")
    expect(error).to_contain_text("FILE_TOO_LARGE")
    expect(tray(tab)).to_be_hidden()
    tab.shot("attachments-too-large")
    tab.errors.clear()  # the browser logs the 413 response


def test_retry_of_a_failed_message_sends_its_image_again(
    live: LiveServer, page_wire: GeminiWireServer, tab: Page
) -> None:
    page_wire.script(Reply(status=503), Reply(text="A red square"))
    tab.login()
    paste_png(tab, "square.png")
    tab.send("Describe it")
    alert = tab.page.locator("#message-list").get_by_role("alert")
    expect(alert).to_contain_text("MODEL_UNAVAILABLE")
    failed = tab.messages().first.get_by_role("img", name="square.png")
    expect(failed).to_be_visible()
    tab.page.reload()  # the failed message keeps its image and still offers Retry
    alert.get_by_role("button", name="Retry").click()
    expect(tab.messages()).to_have_count(3)
    expect(tab.messages().last).to_contain_text("A red square")
    resent = tab.messages().nth(1).get_by_role("img", name="square.png")
    expect(resent).to_be_visible()
    # The retry sent a copy (a file belongs to one message), which the model received.
    assert resent.get_attribute("src") != failed.get_attribute("src")
    assert natural_width(resent) == 40
    turns = [n for n, sent in enumerate(page_wire.requests) if ":streamGenerate" in sent.path]
    assert len(turns) == 2
    assert inline_types(page_wire, turns[-1]) == ["image/png"]  # the failed one is not resent
    tab.errors.clear()  # the browser logs the 503 turn


def test_send_waits_for_an_upload_in_flight(offline_tab: Page) -> None:
    tab = offline_tab
    held: list[Any] = []
    tab.page.route("**/api/v1/files", lambda route: held.append(route))
    tab.page.locator("#attach-file").set_input_files(
        {"name": "slow.txt", "mimeType": "text/plain", "buffer": b"on its way"}
    )
    expect(tray(tab).get_by_role("progressbar", name="Uploading slow.txt")).to_be_visible()
    tab.send("Read this")
    expect(tab.page.get_by_role("button", name="Send")).to_be_disabled()
    tab.page.wait_for_timeout(300)
    expect(tab.messages()).to_have_count(0)  # nothing sent while the upload runs
    assert len(held) == 1
    held[0].continue_()
    user = tab.messages().first
    expect(user.get_by_role("link", name=re.compile("slow.txt"))).to_be_visible()
    expect(user).to_contain_text("Read this")
    expect(tab.messages().last).to_contain_text("slow.txt")
    expect(tab.composer()).to_have_value("")


@pytest.mark.app_config(CHAT_CONTEXT_TOKENS=700)
def test_a_reply_says_when_an_older_image_was_left_out(
    page_wire: GeminiWireServer, tab: Page
) -> None:
    """Each image costs 258 tokens (the wire server's count): the third turn's context has
    room for two, so its reply says one file was left out."""
    replies = ("One", "Numbered squares", "Two", "Three")  # the second one titles the chat
    page_wire.script(*(Reply(text=text) for text in replies))
    tab.login()
    for number, word in enumerate(("one", "two", "three"), start=1):
        expect(tab.composer()).to_be_enabled()  # the previous turn has ended
        paste_png(tab, f"{number}.png")
        tab.send(word)
        expect(tab.messages()).to_have_count(2 * number)
        expect(tab.messages().last).to_contain_text(word.title())
    notes = tab.page.locator("#message-list .note.omitted")
    expect(notes).to_have_count(1)
    expect(tab.messages().last.locator(".note")).to_have_text(
        "The model did not see 1 attached file for this reply: it did not fit in its context."
    )
