"""Fixtures for insight and personality tests: the app talks to the local Gemini server."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from chatapp import gemini
from tests.conftest import wire_config
from tests.support.gemini_wire import GeminiWireServer


@pytest.fixture
def app_overrides(wire: GeminiWireServer) -> dict[str, Any]:
    """Every ``app`` here uses the real SDK against the wire server."""
    return wire_config(wire, GEMINI_TIMEOUT=5.0)


@pytest.fixture
def offline(app: Flask) -> Flask:
    """The same app answering with the offline model (no key configured)."""
    app.extensions["gemini"].close()
    app.extensions["gemini"] = gemini.OfflineModel(delay=0)
    return app
