"""The Gemini wire server's replies and errors, exercised through the real google-genai SDK
(3.4.0, httpx2).

These tests double as the record of how the SDK surfaces each failure:

=======================================  =================================================
server behaviour                         what the SDK raises
=======================================  =================================================
HTTP 4xx (before any byte is streamed)   ``google.genai.errors.ClientError`` (``.code``,
                                         ``.status``, ``.message``, ``.details``,
                                         ``.response`` is the ``httpx2.Response``)
HTTP 5xx                                 ``google.genai.errors.ServerError``
mid-stream ``data: {"error": ...}``      ``ClientError``/``ServerError`` by the frame's
                                         ``code``, after the chunks already yielded
connection closed mid-stream (FIN,       ``httpx2.RemoteProtocolError`` ("peer closed
no final chunk): ``break_after``         connection without sending complete message
                                         body (incomplete chunked read)")
connection reset mid-stream (RST)        ``httpx2.ReadError`` ("[Errno 104] Connection
                                         reset by peer")
connection closed before a response      ``httpx2.RemoteProtocolError`` ("Server
(``generateContent`` + ``break_after``)  disconnected without sending a response.")
no byte within ``HttpOptions.timeout``   ``httpx2.ReadTimeout``
=======================================  =================================================

None of the transport errors is wrapped by the SDK; all are ``httpx2.TransportError``.
"""

from __future__ import annotations

import pytest
from google.genai import errors, types

from tests.support.gemini_wire import Reply
from tests.support.sdk import MODEL, make_client, stream

# --- the default reply and what is recorded -------------------------------------------------


def test_generate_content_echoes_and_records_the_request(server, sdk):
    response = sdk.models.generate_content(model=MODEL, contents="hello there")

    assert response.text == "Echo: hello there (turns=1)"
    candidate = response.candidates[0]
    assert candidate.content.role == "model"
    assert candidate.finish_reason == types.FinishReason.STOP
    assert response.usage_metadata.prompt_token_count == 3
    assert response.usage_metadata.total_token_count == (
        response.usage_metadata.prompt_token_count + response.usage_metadata.candidates_token_count
    )
    record = server.last
    assert record.method_name == "generateContent"
    assert record.model == MODEL
    assert record.api_version == "v1beta"
    assert record.path == f"/v1beta/models/{MODEL}:generateContent"
    assert record.headers["x-goog-api-key"] == "test-key"
    assert record.body["contents"] == [{"role": "user", "parts": [{"text": "hello there"}]}]
    assert server.contents(0) == [("user", "hello there")]
    assert server.system_instruction(0) is None


def test_chat_stream_sends_history_and_system_instruction(server, sdk):
    history = [
        types.Content(role="user", parts=[types.Part(text="first question")]),
        types.Content(role="model", parts=[types.Part(text="first answer")]),
    ]
    chat = sdk.chats.create(
        model=MODEL,
        config=types.GenerateContentConfig(system_instruction="Be brief."),
        history=history,
    )

    chunks = list(chat.send_message_stream("second question"))

    assert len(chunks) >= 3
    assert "".join(c.text for c in chunks) == "Echo: second question (turns=3)"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.candidates_token_count > 0
    record = server.last
    assert record.method_name == "streamGenerateContent"
    assert record.query == {"alt": "sse"}
    assert server.contents() == [
        ("user", "first question"),
        ("model", "first answer"),
        ("user", "second question"),
    ]
    assert server.system_instruction() == "Be brief."


def test_keep_alive_reuses_one_connection(server, sdk):
    list(stream(sdk))
    sdk.models.generate_content(model=MODEL, contents="again")
    list(stream(sdk))

    assert len({record.peer for record in server.requests}) == 1


def test_scripts_are_consumed_in_order_then_the_default_applies(server, sdk):
    server.script(Reply(text="first"), Reply(chunks=["sec", "ond"]))

    assert sdk.models.generate_content(model=MODEL, contents="x").text == "first"
    assert [c.text for c in stream(sdk)] == ["sec", "ond"]
    assert sdk.models.generate_content(model=MODEL, contents="x").text.startswith("Echo:")
    server.default = Reply(text="A Short Title")
    assert sdk.models.generate_content(model=MODEL, contents="x").text == "A Short Title"
    assert server.pending == 0


def test_count_tokens_and_embeddings(server, sdk):
    counted = sdk.models.count_tokens(model=MODEL, contents="abcd" * 10)
    assert counted.total_tokens == 10
    assert server.last.method_name == "countTokens"

    first = sdk.models.embed_content(model="gemini-embedding-001", contents=["a", "b", "a"])
    values = [e.values for e in first.embeddings]
    assert values[0] == values[2] != values[1]
    assert len(values[0]) == 8
    sized = sdk.models.embed_content(
        model="gemini-embedding-001",
        contents="a",
        config=types.EmbedContentConfig(output_dimensionality=16),
    )
    assert len(sized.embeddings[0].values) == 16
    assert server.last.method_name == "batchEmbedContents"


# --- HTTP errors ----------------------------------------------------------------------------

ERRORS = [
    (400, errors.ClientError, "INVALID_ARGUMENT"),
    (401, errors.ClientError, "UNAUTHENTICATED"),
    (403, errors.ClientError, "PERMISSION_DENIED"),
    (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
    (500, errors.ServerError, "INTERNAL"),
    (503, errors.ServerError, "UNAVAILABLE"),
    (504, errors.ServerError, "DEADLINE_EXCEEDED"),
]


@pytest.mark.parametrize(("status", "exc_type", "status_text"), ERRORS)
def test_http_errors_raise_api_errors(server, sdk, status, exc_type, status_text):
    server.script(Reply(status=status, message="nope"), Reply(status=status, message="nope"))

    with pytest.raises(exc_type) as caught:
        sdk.models.generate_content(model=MODEL, contents="x")
    assert (caught.value.code, caught.value.status) == (status, status_text)
    assert caught.value.message == "nope"

    with pytest.raises(exc_type) as caught:
        list(stream(sdk))
    assert caught.value.code == status


def test_retry_after_header_and_error_details(server, sdk):
    server.script(Reply(status=429, retry_after=7), Reply.bad_key())

    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(model=MODEL, contents="x")
    assert caught.value.response.headers["retry-after"] == "7"

    with pytest.raises(errors.ClientError) as caught:
        sdk.models.generate_content(model=MODEL, contents="x")
    assert caught.value.code == 400
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_sdk_retries_scripted_failures_when_asked(server):
    retrying = make_client(
        server,
        retry_options=types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02),
    )
    server.script(Reply(status=503), Reply(status=429))

    assert retrying.models.generate_content(model=MODEL, contents="x").text.startswith("Echo")
    assert len(server.requests) == 3


# --- 200 responses that are not plain text -------------------------------------------------


def test_blocked_prompt(server, sdk):
    server.script(Reply(blocked="SAFETY"), Reply(blocked="SAFETY"))

    response = sdk.models.generate_content(model=MODEL, contents="x")
    assert response.text is None
    assert response.candidates is None
    assert response.prompt_feedback.block_reason == types.BlockedReason.SAFETY

    chunks = list(stream(sdk))
    assert len(chunks) == 1
    assert chunks[0].prompt_feedback.block_reason == types.BlockedReason.SAFETY


def test_finish_reason_override_and_empty_candidate(server, sdk):
    server.script(Reply(text="cut off", finish_reason="MAX_TOKENS"))
    server.script(Reply(text="", finish_reason="SAFETY"))

    truncated = sdk.models.generate_content(model=MODEL, contents="x")
    assert truncated.text == "cut off"
    assert truncated.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS

    chunks = list(stream(sdk))
    assert len(chunks) == 1
    assert chunks[0].text is None
    assert chunks[0].candidates[0].finish_reason == types.FinishReason.SAFETY
