"""The Gemini wire server's broken and cancelled streams, through the real google-genai SDK
(how the SDK surfaces each is tabled in ``test_replies.py``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from google.genai import errors

from tests.support.gemini_wire import Reply, pad_words, split_text
from tests.support.sdk import MODEL, ROOT, collect, make_client, stream

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
