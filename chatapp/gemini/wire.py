"""Requests in Gemini's wire form, sent through the google-genai SDK's own API client.

The SDK's public calls validate and convert every content of the history into its models
on every request (65% of a 300-turn turn, docs/benchmarks.md). Here a request body is built
directly as the REST API takes it (``{"contents": [{"role", "parts": [{"text"}]}], ...}``)
and handed to ``client._api_client.request`` / ``request_streamed``, which keep the key,
base URL, timeout, retries, error classes and the SSE parsing; answers are parsed with the
SDK's own converter and ``types.GenerateContentResponse``. Only the (small) config of a
request still goes through the SDK's converter, so the system instruction and tools are
sent exactly as the public call sends them; a long instruction (a grounded turn's, holding
its passages) takes the place of a short one in the converted fields instead of being
converted itself (the SDK passes an instruction's text through as it is).

These entry points are not public: ``setup.cfg`` pins the SDK's version range and
``tests/wire/test_sdk_entry_point.py`` fails when an upgrade moves them (docs/decisions.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from google import genai
from google.genai import models as sdk_models
from google.genai import types

from chatapp.gemini.attachments import inline_part
from chatapp.gemini.base import Attachment

# A stored content: ``(role, text)``, or ``(role, text, files)`` for a turn with files.
Content = tuple[str, str] | tuple[str, str, tuple[Attachment, ...]]
Response = types.GenerateContentResponse
# Longest system instruction whose converted request fields are memoised.
MEMO_CHARS = 4000
# What a longer instruction is converted as, its text then put in its place.
PLACEHOLDER = "(system instruction)"


def wire_contents(contents: Sequence[Content]) -> list[dict[str, Any]]:
    """Contents as the REST API takes them, in order (a text-only content is one text part:
    that path stays a plain comprehension)."""
    return [
        {"role": content[0], "parts": [{"text": content[1]}]}
        if len(content) == 2
        else _with_files(*content)
        for content in contents
    ]


def _with_files(role: str, text: str, files: tuple[Attachment, ...]) -> dict[str, Any]:
    """A content with its files first, as ``inlineData`` parts, then its text (if any)."""
    parts = [inline_part(file.mime_type, file.data) for file in files]
    if text or not parts:
        parts.append({"text": text})
    return {"role": role, "parts": parts}


def count_tokens(client: genai.Client, model: str, parts: list[dict[str, Any]]) -> int:
    """POST ``:countTokens`` for one user content of ``parts``; the model's count."""
    path, _ = _template(client, model, None, False)
    body = {"contents": [{"role": "user", "parts": parts}]}
    response = client._api_client.request("post", f"{path}:countTokens", body)
    total = json.loads(response.body or "{}").get("totalTokens")
    if not isinstance(total, int):
        raise ValueError(f"countTokens answered without a count: {response.body!r:.200}")
    return total


@functools.lru_cache(maxsize=256)
def _template(
    client: genai.Client, model: str, system: str | None, web_search: bool
) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The URL path and the non-content fields of a request, converted by the SDK once.

    Memoised per (model, instruction, tools) for instructions up to ``MEMO_CHARS`` (a
    personality's prompt); a longer one (a grounded turn's, new every turn) is never kept.
    """
    config = None
    if system or web_search:
        tools = [types.Tool(google_search=types.GoogleSearch())] if web_search else None
        config = types.GenerateContentConfig(system_instruction=system or None, tools=tools)
    params = types._GenerateContentParameters(model=model, contents=None, config=config)
    body = sdk_models._GenerateContentParameters_to_mldev(client._api_client, params, None, params)
    path = body["_url"]["model"]
    fields = tuple(
        (key, value) for key, value in body.items() if not key.startswith("_") and key != "config"
    )
    return path, fields


def request_body(
    client: genai.Client,
    model: str,
    contents: list[dict[str, Any]],
    system: str | None,
    web_search: bool,
) -> tuple[str, dict[str, Any]]:
    """The model's path and the JSON body of one generateContent request."""
    long = len(system or "") > MEMO_CHARS
    path, fields = _template(client, model, PLACEHOLDER if long else system, web_search)
    body: dict[str, Any] = {"contents": contents}
    body.update(fields)  # shared and never modified: chatapp sets no ``extra_body``
    if long:
        body["systemInstruction"] = _instruction(body["systemInstruction"], str(system))
    return path, body


def _instruction(converted: dict[str, Any], text: str) -> dict[str, Any]:
    """The converted :data:`PLACEHOLDER` instruction holding ``text`` instead (a new dict)."""
    if converted.get("parts") != [{"text": PLACEHOLDER}]:
        raise RuntimeError("the SDK converts a system instruction differently: see wire.py")
    return {**converted, "parts": [{"text": text}]}


def generate(
    client: genai.Client, path: str, body: dict[str, Any]
) -> types.GenerateContentResponse:
    """POST ``:generateContent`` and parse the answer with the SDK's types."""
    response = client._api_client.request("post", f"{path}:generateContent", body)
    return parse(response.body)


def generate_stream(client: genai.Client, path: str, body: dict[str, Any]) -> Iterator[Response]:
    """POST ``:streamGenerateContent?alt=sse`` and yield each parsed chunk.

    Closing the iterator closes the HTTP response (the SDK's generator does).
    """
    chunks = client._api_client.request_streamed(
        "post", f"{path}:streamGenerateContent?alt=sse", body
    )
    try:
        for chunk in chunks:
            yield parse(chunk.body)
    finally:
        chunks.close()


def parse(raw: str | None) -> Response:
    """One response body as the SDK's ``GenerateContentResponse``."""
    data = json.loads(raw) if raw else {}
    converted = sdk_models._GenerateContentResponse_from_mldev(data, None, None)
    return types.GenerateContentResponse._from_response(response=converted, kwargs={})
