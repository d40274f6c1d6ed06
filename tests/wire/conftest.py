"""Fixtures of the wire server's own tests: one server and one SDK client per module, and
each test starts from a server with nothing recorded or scripted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai

from tests.support.gemini_wire import GeminiWireServer
from tests.support.sdk import make_client


@pytest.fixture(scope="module")
def server() -> Iterator[GeminiWireServer]:
    """One server for the module; :func:`fresh` resets it for each test."""
    with GeminiWireServer() as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: GeminiWireServer) -> None:
    """Forget what earlier tests recorded or scripted."""
    server.reset()


@pytest.fixture(scope="module")
def sdk(server: GeminiWireServer) -> Iterator[genai.Client]:
    """One long-lived SDK client, as the application keeps."""
    made = make_client(server)
    yield made
    made.close()
