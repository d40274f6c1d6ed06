"""Fixtures for insight and personality tests: the app talks to a local Gemini wire server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from chatapp import gemini
from tests.gemini_wire import GeminiWireServer


@pytest.fixture(scope="session")
def wire() -> Iterator[GeminiWireServer]:
    """One local Gemini server for the whole run."""
    with GeminiWireServer() as server:
        yield server


@pytest.fixture
def app(app: Flask, wire: GeminiWireServer) -> Iterator[Flask]:
    """The standard test app, with its model pointed at the wire server."""
    wire.reset()
    app.config.update(GEMINI_API_KEY="test-key", GEMINI_BASE_URL=wire.base_url, GEMINI_RETRIES=1)
    gemini.init_app(app)
    model = app.extensions["gemini"]
    yield app
    model.client.close()  # release its pooled connections now, not at garbage collection


@pytest.fixture
def offline(app: Flask) -> Flask:
    """The same app answering with the offline model (no key configured)."""
    app.extensions["gemini"] = gemini.OfflineModel(delay=0)
    return app
