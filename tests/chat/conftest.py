"""Fixtures of the chat tests: workers whose model is the real SDK talking to the wire server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import build_app, close_app, wire_config
from tests.support.clients import AuthActions
from tests.support.gemini_wire import GeminiWireServer


@pytest.fixture
def make_worker(
    app: Flask, database_url: str, wire: GeminiWireServer
) -> Iterator[Callable[..., Flask]]:
    """Make app instances (workers) on the test database whose model is the real SDK
    talking to the wire server; their connections are closed afterwards."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        made.append(build_app(database_url, fresh=False, **wire_config(wire, **overrides)))
        return made[-1]

    yield make
    for each in made:
        close_app(each)


@pytest.fixture
def worker(make_worker: Callable[..., Flask]) -> Flask:
    """One app instance whose model is the real SDK talking to the wire server."""
    return make_worker()


@pytest.fixture
def headers(app: Flask, client: FlaskClient) -> dict[str, str]:
    """API token headers for alice."""
    return AuthActions(app, client).headers("alice")
