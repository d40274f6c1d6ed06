"""The browser page tests' shared parts: Chromium, the page object, screenshots.

The fixtures that use them (``browser``, ``page_wire``, ``live``, ``offline_live``, ``tab``)
are in ``tests/web/conftest.py``. Importing this module skips the importing test module when
Playwright is not installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.app import PASSWORD
from tests.support.live_server import LiveServer

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
#: A reply long enough to be stopped, reloaded or broken while it streams.
LONG_REPLY = [f"word{n} " for n in range(300)]
#: Marks of every browser test module: a real Chromium is needed.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium package"),
]


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
