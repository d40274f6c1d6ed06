"""The Gemini wire server, exercised through the real google-genai SDK (3.4.0, httpx2).

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

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import errors, types

from tests.support.gemini_wire import GeminiWireServer, Reply, pad_words, split_text

MODEL = "gemini-test"
ROOT = Path(__file__).resolve().parents[2]


def make_client(server: GeminiWireServer, timeout_ms: int = 5000, **options: Any) -> genai.Client:
    """A real SDK client pointed at ``server`` (``timeout_ms`` is in milliseconds)."""
    return genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(
            base_url=server.base_url, api_version="v1beta", timeout=timeout_ms, **options
        ),
    )


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


def stream(sdk: genai.Client, text: str = "hello there") -> Iterator[types.GenerateContentResponse]:
    """Start a streamed generation."""
    return sdk.models.generate_content_stream(model=MODEL, contents=text)


def collect(responses: Iterator[types.GenerateContentResponse], into: list[str]) -> None:
    """Append each chunk's text to ``into`` (so a test sees what arrived before a failure)."""
    for response in responses:
        into.append(response.text or "")


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


# --- failures in the middle of a stream -----------------------------------------------------


def test_break_after_raises_remote_protocol_error(server, sdk):
    """A FIN without the final chunk: ``httpx2.RemoteProtocolError``, after N chunks."""
    server.script(Reply(chunks=["a", "b", "c", "d"], break_after=2))
    received: list[str] = []

    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        collect(stream(sdk), received)
    assert received == ["a", "b"]
    assert server.disconnects == 0  # the server hung up, not the client


def test_reset_after_raises_read_error(server, sdk):
    """A TCP RST mid-stream: ``httpx2.ReadError``."""
    server.script(Reply(chunks=["a", "b", "c"], break_after=1, reset=True))
    received: list[str] = []

    with pytest.raises(httpx2.ReadError):
        collect(stream(sdk), received)
    assert received == ["a"]


def test_break_before_a_non_streamed_response(server, sdk):
    server.script(Reply(break_after=0))

    with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
        sdk.models.generate_content(model=MODEL, contents="x")


def test_error_frame_mid_stream_raises_api_error(server, sdk):
    """``data: {"error": ...}`` after N chunks: the SDK raises by the frame's code."""
    server.script(
        Reply(chunks=["a", "b", "c"], error_frame_after=2),
        Reply(chunks=["a", "b"], error_frame_after=1, status=429, message="slow down"),
    )
    received: list[str] = []

    with pytest.raises(errors.ServerError) as caught:
        collect(stream(sdk), received)
    assert (caught.value.code, caught.value.status) == (500, "INTERNAL")
    assert received == ["a", "b"]

    with pytest.raises(errors.ClientError) as caught:
        list(stream(sdk))
    assert (caught.value.code, caught.value.message) == (429, "slow down")


def test_delay_beyond_the_timeout_raises_read_timeout(server):
    impatient = make_client(server, timeout_ms=200)
    server.script(Reply(delay=2), Reply(delay=2))

    started = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):
        impatient.models.generate_content(model=MODEL, contents="x")
    with pytest.raises(httpx2.ReadTimeout):
        list(stream(impatient))
    assert time.monotonic() - started < 1.5
    assert server.wait_disconnect(2, count=2)
    assert all(record.disconnected for record in server.requests)


def test_slow_chunks_within_the_timeout_are_fine(server, sdk):
    """The timeout bounds each read, not the whole stream."""
    impatient = make_client(server, timeout_ms=300)
    server.script(Reply(chunks=["a", "b", "c", "d"], chunk_delay=0.15))

    assert [c.text for c in stream(impatient)] == ["a", "b", "c", "d"]


# --- cancellation from the client side ------------------------------------------------------


def test_closing_the_iterator_disconnects_at_once(server, sdk):
    """``.close()`` on the SDK's generator closes the HTTP response: the server sees it."""
    server.script(Reply(chunks=["a", "b", "c"], chunk_delay=5))
    responses = stream(sdk)

    assert next(responses).text == "a"
    responses.close()

    assert server.wait_disconnect(2)
    assert server.last.disconnected


def test_closing_a_chat_stream_records_no_turn(server, sdk):
    server.script(Reply(chunks=["a"], hang=True))
    chat = sdk.chats.create(model=MODEL)
    responses = chat.send_message_stream("hi")

    assert next(responses).text == "a"
    responses.close()

    assert server.wait_disconnect(2)
    assert chat.get_history() == []


def test_dropping_the_iterator_disconnects_too(server, sdk):
    """CPython closes an unreferenced generator at once, which closes the response."""
    server.script(Reply(chunks=["a"], hang=True))
    responses = stream(sdk)
    next(responses)

    del responses

    assert server.wait_disconnect(2)


def test_close_from_another_thread_is_refused(server, sdk):
    """A generator cannot be closed while another thread is inside ``next()``."""
    server.script(Reply(chunks=["a"], hang=True))
    impatient = make_client(server, timeout_ms=600)
    responses = stream(impatient)
    next(responses)
    outcome: list[BaseException] = []
    consumer = threading.Thread(target=lambda: _drain(responses, outcome))
    consumer.start()
    deadline = time.monotonic() + 2
    while not responses.gi_running and time.monotonic() < deadline:
        time.sleep(0.01)  # until the consumer is blocked inside next()

    with pytest.raises(ValueError, match="generator already executing"):
        responses.close()

    consumer.join(5)
    assert isinstance(outcome[0], httpx2.ReadTimeout)  # only the read timeout ended it
    assert server.wait_disconnect(2)


def test_socket_shutdown_from_another_thread_cancels_at_once(server):
    """Cross-thread cancel: capture the response with an httpx2 event hook, shut its socket.

    The blocked consumer gets ``httpx2.RemoteProtocolError`` immediately and the server
    sees the disconnect. (``response.close()`` from another thread is no substitute: it
    closes the file descriptor, which does not wake the blocked read; the consumer only
    fails at the read timeout.)
    """
    captured: list[httpx2.Response] = []
    hooked = make_client(server, client_args={"event_hooks": {"response": [captured.append]}})
    server.script(Reply(chunks=["a"], hang=True))
    responses = stream(hooked)
    next(responses)
    outcome: list[BaseException] = []
    consumer = threading.Thread(target=lambda: _drain(responses, outcome))
    consumer.start()

    network_stream = captured[-1].extensions["network_stream"]
    network_stream.get_extra_info("socket").shutdown(socket.SHUT_RDWR)

    consumer.join(2)
    assert isinstance(outcome[0], httpx2.RemoteProtocolError)
    assert server.wait_disconnect(2)
    assert hooked.models.generate_content(model=MODEL, contents="x").text  # client still fine


def _drain(responses: Iterator[Any], outcome: list[BaseException]) -> None:
    """Consume ``responses`` and store what ended it (``StopIteration`` when it ran out)."""
    try:
        for _ in responses:
            pass
    except BaseException as exc:  # the test inspects it
        outcome.append(exc)
    else:
        outcome.append(StopIteration())


# --- the server on its own ------------------------------------------------------------------


def test_unknown_route_is_a_404(server, sdk):
    with pytest.raises(errors.ClientError) as caught:
        sdk.models.list()
    assert caught.value.code == 404


def test_split_and_pad_helpers():
    assert split_text("one two three four five", 3) == ["one two", " three four", " five"]
    assert "".join(split_text("  a b  ", 2)) == "  a b  "
    assert split_text("", 3) == [""]
    assert pad_words("Echo: hi", 4) == "Echo: hi lorem ipsum"
    assert pad_words("a b c", 2) == "a b c"


def test_runs_as_a_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.gemini_wire", "--chunks", "5", "--chunk-delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        with httpx2.Client(base_url=base_url) as http:
            reply = http.post(f"/v1/models/{MODEL}:streamGenerateContent?alt=sse", json=body)
        frames = [line for line in reply.text.split("\r\n") if line.startswith("data: ")]
        assert len(frames) == 5
        assert reply.headers["transfer-encoding"] == "chunked"
    finally:
        process.terminate()
        assert process.wait(5) == 0
        process.stdout.close()
