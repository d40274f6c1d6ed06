"""The google-genai internals ``chatapp.gemini.wire`` relies on, against the wire server.

``chatapp.gemini.wire`` hands request bodies to the SDK's non-public API client
(``client._api_client.request`` / ``request_streamed``) and parses answers with the SDK's
own converter. These tests fail when an SDK upgrade moves or changes any of that: the body
must be byte for byte what the public call sends, and answers, errors and streams must come
back as the public call returns them (docs/decisions.md, "Requests in wire form").
"""

from __future__ import annotations

import configparser
import json
from importlib.metadata import version

import pytest
from google.genai import errors, types

from chatapp.gemini import wire
from tests.support.gemini_wire import Reply
from tests.support.sdk import MODEL, ROOT

HISTORY = (("user", "first question"), ("model", "first answer"), ("user", "and then?"))


def public_body(server, sdk, config: types.GenerateContentConfig | None) -> dict:
    """The body the SDK's public ``generate_content`` sends for ``HISTORY``."""
    contents = [types.Content(role=r, parts=[types.Part(text=t)]) for r, t in HISTORY]
    sdk.models.generate_content(model=MODEL, contents=contents, config=config)
    return server.last.body


@pytest.mark.parametrize(
    ("system", "web_search"),
    [
        (None, False),
        ("Be brief.", False),
        (None, True),
        ("Cite [1].\n\n[1] A\ntext", True),
        # Longer than MEMO_CHARS (a grounded turn's passages): put in place of a converted one.
        ("Cite [1].\n\n[1] A\n" + 'Long "passage" {text}\u00e9.\n' * 300, False),
    ],
)
def test_wire_body_is_what_the_public_call_sends(server, sdk, system, web_search) -> None:
    """The same contents, instruction and tools reach the server as through the public call."""
    tools = [types.Tool(google_search=types.GoogleSearch())] if web_search else None
    config = (
        types.GenerateContentConfig(system_instruction=system, tools=tools)
        if system or web_search
        else None
    )
    expected = public_body(server, sdk, config)
    path, body = wire.request_body(sdk, MODEL, wire.wire_contents(HISTORY), system, web_search)
    wire.generate(sdk, path, body)

    assert server.last.body == expected
    assert server.last.path == server.requests[-2].path


def test_generate_parses_the_answer_with_the_sdk_types(server, sdk) -> None:
    """A whole answer comes back as ``GenerateContentResponse`` with text and usage."""
    path, body = wire.request_body(sdk, MODEL, wire.wire_contents(HISTORY), None, False)
    response = wire.generate(sdk, path, body)

    assert isinstance(response, types.GenerateContentResponse)
    assert response.text == "Echo: and then? (turns=3)"
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count


def test_generate_stream_yields_parsed_chunks(server, sdk) -> None:
    """A streamed answer arrives as parsed chunks that join to the whole reply."""
    path, body = wire.request_body(sdk, MODEL, wire.wire_contents(HISTORY), None, False)
    chunks = list(wire.generate_stream(sdk, path, body))

    assert len(chunks) > 1
    assert all(isinstance(chunk, types.GenerateContentResponse) for chunk in chunks)
    assert "".join(chunk.text or "" for chunk in chunks) == "Echo: and then? (turns=3)"
    assert server.last.method_name == "streamGenerateContent"


def test_errors_keep_the_sdk_error_classes(server, sdk) -> None:
    """HTTP errors still raise the SDK's ``ClientError``/``ServerError`` with their codes."""
    server.script(Reply(status=400, message="bad request"), Reply(status=503))
    path, body = wire.request_body(sdk, MODEL, wire.wire_contents(HISTORY), None, False)
    with pytest.raises(errors.ClientError) as client_error:
        wire.generate(sdk, path, body)
    with pytest.raises(errors.ServerError) as server_error:
        list(wire.generate_stream(sdk, path, body))

    assert (client_error.value.code, server_error.value.code) == (400, 503)


def test_installed_sdk_is_within_the_pinned_range() -> None:
    """setup.cfg pins the range these internals were checked against."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    requirement = next(
        line.strip()
        for line in parser["options"]["install_requires"].splitlines()
        if line.strip().startswith("google-genai")
    )
    lower, upper = (part.split("=")[-1].strip("<>") for part in requirement[12:].split(","))
    installed = tuple(int(n) for n in version("google-genai").split(".")[:2])
    assert tuple(int(n) for n in lower.split(".")[:2]) <= installed
    assert installed < tuple(int(n) for n in upper.split(".")[:2])
    assert json.dumps(wire.wire_contents(HISTORY[:1])) == (
        '[{"role": "user", "parts": [{"text": "first question"}]}]'
    )
