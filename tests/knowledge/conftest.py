"""Fixtures for the knowledge tests: a wire-backed app with small chunks and batches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.app import build_app, close_app, wire_config
from tests.support.gemini_wire import GeminiWireServer

#: Small enough that a few paragraphs make several chunks and several batches.
SMALL = {"CHUNK_SIZE": 200, "CHUNK_OVERLAP": 40, "EMBEDDING_BATCH": 3, "GEMINI_EMBEDDING_DIM": 16}


@pytest.fixture
def embed_app(database_url: str, wire: GeminiWireServer) -> Iterator[Flask]:
    """An app whose model is the real SDK talking to ``wire``, with small chunks."""
    app = build_app(database_url, **wire_config(wire, **SMALL))
    yield app
    close_app(app)
