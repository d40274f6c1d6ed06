"""The real google-genai SDK pointed at the local wire server, for the wire server's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types

from tests.support.gemini_wire import GeminiWireServer

MODEL = "gemini-test"
ROOT = Path(__file__).resolve().parents[2]  # the repository


def make_client(server: GeminiWireServer, timeout_ms: int = 5000, **options: Any) -> genai.Client:
    """A real SDK client pointed at ``server`` (``timeout_ms`` is in milliseconds)."""
    return genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(
            base_url=server.base_url, api_version="v1beta", timeout=timeout_ms, **options
        ),
    )


def stream(sdk: genai.Client, text: str = "hello there") -> Iterator[types.GenerateContentResponse]:
    """Start a streamed generation."""
    return sdk.models.generate_content_stream(model=MODEL, contents=text)


def collect(responses: Iterator[types.GenerateContentResponse], into: list[str]) -> None:
    """Append each chunk's text to ``into`` (so a test sees what arrived before a failure)."""
    for response in responses:
        into.append(response.text or "")
