"""Export and import from the chat page, in Debian's Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_server import LiveServer
from tests.support.pages import CHROMIUM, Page, expect
from tests.transfer.test_chatgpt import FIXTURE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]


@pytest.fixture
def transfer_tab(browser: Any, live: LiveServer) -> Iterator[Page]:
    """A fresh browser context that fails the test on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = Page(context.new_page(), live)
    yield page
    context.close()
    # Chromium logs every 4xx answer as "Failed to load resource"; a refused file is tested.
    errors = [e for e in page.errors if not e.startswith("Failed to load resource")]
    assert errors == [], "the page logged errors"


def download(tab: Page, name: str, tmp_path: Path) -> Path:
    """Click the link called ``name`` and return the file the browser saved."""
    with tab.page.expect_download() as info:
        tab.page.get_by_role("link", name=name, exact=True).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_export_buttons_download_the_conversation_and_everything(
    transfer_tab: Page, live: LiveServer, tmp_path: Path
) -> None:
    """The open conversation downloads as JSON and Markdown; Export all holds every one."""
    beans = live.create_session("alice", "Beans", [("user", "When?"), ("model", "In May.")])
    live.create_session("alice", "Peas", [("user", "And peas?"), ("model", "In March.")])
    transfer_tab.login()
    export_links = transfer_tab.page.get_by_role("navigation", name="Export this conversation")
    expect(export_links).to_be_hidden()  # a new chat has nothing to export yet
    transfer_tab.goto(f"/chat/{beans}")

    exported = download(transfer_tab, "Export", tmp_path)
    document = download(transfer_tab, "Markdown", tmp_path)
    everything = download(transfer_tab, "Export all", tmp_path)

    assert exported.name.startswith("chatapp-beans-") and exported.suffix == ".json"
    conversation = json.loads(exported.read_text())["conversations"][0]
    assert [m["content"] for m in conversation["messages"]] == ["When?", "In May."]
    assert document.read_text().startswith("# Beans\n")
    titles = {c["title"] for c in json.loads(everything.read_text())["conversations"]}
    assert titles == {"Beans", "Peas"}


def test_import_button_imports_with_a_report(transfer_tab: Page) -> None:
    """A ChatGPT file imports and its conversations appear; again, nothing new; a broken
    file is refused with the reason."""
    transfer_tab.login()
    transfer_tab.goto("/")
    status = transfer_tab.page.locator("#import-status")

    transfer_tab.page.locator("#import-file").set_input_files(str(FIXTURE))
    expect(status).to_have_text("Imported 2 conversations; 0 already there, 0 failed.")
    expect(transfer_tab.sidebar_links()).to_have_count(2)
    expect(transfer_tab.sidebar_links().first).to_have_text("Capital of France")

    transfer_tab.page.locator("#import-file").set_input_files(str(FIXTURE))
    expect(status).to_have_text("Imported 0 conversations; 2 already there, 0 failed.")
    expect(transfer_tab.page.locator("#import-problems li")).to_have_count(2)

    transfer_tab.page.locator("#import-file").set_input_files(
        files=[{"name": "broken.json", "mimeType": "application/json", "buffer": b"[{"}]
    )
    expect(status).to_contain_text("Import failed: The file is not valid JSON")
    expect(transfer_tab.sidebar_links()).to_have_count(2)
    transfer_tab.sidebar_links().filter(has_text="Email regex").click()
    expect(transfer_tab.messages()).to_have_count(6)
    expect(transfer_tab.messages().nth(2)).to_contain_text("[Image not imported")
