"""A local HTTP server that speaks the Gemini REST wire format, for tests and benchmarks.

It lets the real google-genai SDK run without network::

    with GeminiWireServer() as server:
        client = genai.Client(
            api_key="test-key",
            http_options=types.HttpOptions(base_url=server.base_url, api_version="v1beta"),
        )
        server.script(Reply(status=429), Reply(chunks=["Hel", "lo"]))
        ...
        assert server.contents(-1) == [("user", "hi")]

Endpoints, under any API version (``v1``, ``v1beta``):

* ``POST /{v}/models/{model}:generateContent``: a ``GenerateContentResponse`` as JSON.
* ``POST /{v}/models/{model}:streamGenerateContent?alt=sse``: HTTP/1.1 chunked transfer
  encoding, one ``data: <GenerateContentResponse JSON>\\r\\n\\r\\n`` frame per chunk.
* ``POST /{v}/models/{model}:countTokens``: ``totalTokens`` is about a quarter of the
  characters of all the text in the request.
* ``POST /{v}/models/{model}:batchEmbedContents`` (and ``:embedContent``): small
  deterministic unit vectors derived from the text.

Model requests (``generateContent`` and ``streamGenerateContent``) each consume one
scripted :class:`Reply`, first in first out; with none queued, ``server.default`` applies,
and with no default the server echoes: ``"Echo: <last user text> (turns=<contents>)"``.
Other endpoints never consume scripts.

Run as a process for benchmarks (prints the base URL on the first line, serves until
killed)::

    python -m tests.support.gemini_wire --port 8765 --chunk-delay 0.1 --chunks 20

Standard library only: asyncio on one background thread (cheap with hundreds of open
streams), HTTP/1.1 keep-alive, chunked transfer encoding for streams.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import math
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

#: The ``status`` string Gemini sends with each HTTP error code.
ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
GENERATE_METHODS = frozenset({"generateContent", "streamGenerateContent"})
PATH_RE = re.compile(
    r"^/(?P<version>[^/]+)/(?:models|tunedModels)/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$"
)
FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
EMBEDDING_DIMENSIONS = 8
MAX_HEAD = 64 * 1024
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What the server does for one model request. Every field is optional.

    Content: ``text`` or ``chunks`` (joined for ``generateContent``; ``text`` is split at
    word boundaries into ``server.chunks`` pieces when streamed). With neither, the echo
    text is used. An empty text or chunk list sends a candidate with no content, only a
    ``finishReason`` (how Gemini reports a candidate blocked for ``SAFETY``).

    Timing: ``delay`` seconds before the first byte; ``chunk_delay`` seconds between
    streamed chunks (``None``: the server's ``chunk_delay``).

    Failures:

    * ``status`` (not 200): an HTTP error with body ``{"error": {code, message, status}}``;
      ``error_status`` defaults from :data:`ERROR_STATUS`, ``retry_after`` adds a
      ``Retry-After`` header, ``details`` is copied into the error object.
    * ``blocked``: HTTP 200 with ``promptFeedback.blockReason`` and no candidates.
    * ``break_after=N``: stream N chunks, then close the connection without the final
      empty chunk (``reset=True`` sends a TCP RST instead of a FIN). For
      ``generateContent``: close without sending a response.
    * ``error_frame_after=N``: stream N chunks, then a ``data: {"error": {...}}`` frame
      and end the stream cleanly. The frame uses ``status`` (500 when left at 200),
      ``error_status`` and ``message``. For ``generateContent``: a plain HTTP error.
    * ``hang``: after the chunks (or ``break_after`` chunks) send nothing more and keep
      the connection open until the client closes it. For ``generateContent``: never
      answer.
    * ``finish_reason``: the last chunk's ``finishReason`` (default ``STOP``).
    """

    text: str | None = None
    chunks: list[str] | None = None
    chunk_delay: float | None = None
    delay: float = 0.0
    status: int = 200
    error_status: str | None = None
    message: str | None = None
    retry_after: int | str | None = None
    details: list[Any] | None = None
    blocked: str | None = None
    break_after: int | None = None
    reset: bool = False
    error_frame_after: int | None = None
    hang: bool = False
    finish_reason: str = "STOP"

    @classmethod
    def bad_key(cls) -> Reply:
        """What Gemini answers to an invalid API key: 400 with reason ``API_KEY_INVALID``."""
        return cls(
            status=400,
            message="API key not valid. Please pass a valid API key.",
            details=[
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        )

    @property
    def http_error(self) -> bool:
        """Whether the reply is an HTTP error status rather than a 200 response."""
        return self.status != 200 and self.error_frame_after is None

    def error_body(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` object of this reply's failure."""
        code = 500 if self.status == 200 else self.status
        error: dict[str, Any] = {
            "code": code,
            "message": self.message or f"Simulated error {code}.",
            "status": self.error_status or ERROR_STATUS.get(code, "UNKNOWN"),
        }
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


@dataclass
class Recorded:
    """One request the server received."""

    path: str  # as sent, with the query string
    model: str
    method_name: str  # "generateContent", "streamGenerateContent", "countTokens", ...
    headers: dict[str, str]  # lowercase names
    body: Any  # parsed JSON; None when the body was not JSON
    api_version: str = ""
    query: dict[str, str] = field(default_factory=dict)
    disconnected: bool = False  # the client went away before the response was complete
    peer: str = ""  # the client's "host:port": equal for requests on a reused connection
    number: int = -1  # arrival order since the server started (responseId is "wire-<n>")


class ClientGone(Exception):
    """The client closed the connection while a response was in progress."""


# --- pure helpers ---------------------------------------------------------------------------


def texts(obj: Any) -> Iterator[str]:
    """Yield every string stored under a ``"text"`` key anywhere in a JSON value."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from texts(item)


def count_tokens(obj: Any) -> int:
    """Estimate tokens as Gemini roughly does for English: a quarter of the characters."""
    return (sum(len(text) for text in texts(obj)) + 3) // 4


def content_text(content: Any) -> str:
    """The concatenated text parts of one ``Content`` object."""
    return "".join(texts((content or {}).get("parts", [])))


def echo_text(body: Any) -> str:
    """The default reply: ``"Echo: <last user text> (turns=<number of contents>)"``."""
    contents = (body or {}).get("contents") or []
    users = [c for c in contents if (c or {}).get("role", "user") == "user"]
    last = content_text(users[-1]) if users else ""
    return f"Echo: {last} (turns={len(contents)})"


def split_text(text: str, pieces: int) -> list[str]:
    """Split ``text`` at word boundaries into at most ``pieces`` parts that join to it."""
    words = re.findall(r"\s*\S+", text)
    if not words:
        return [text]
    words[-1] += text[len("".join(words)) :]
    count = max(1, min(pieces, len(words)))
    size, extra = divmod(len(words), count)
    parts, start = [], 0
    for index in range(count):
        end = start + size + (index < extra)
        parts.append("".join(words[start:end]))
        start = end
    return parts


def pad_words(text: str, words: int) -> str:
    """Append filler words until ``text`` has at least ``words`` words."""
    missing = words - len(text.split())
    filler = itertools.islice(itertools.cycle(FILLER), max(0, missing))
    return " ".join([text, *filler]) if missing > 0 else text


def embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``: the sum of its words' hashed vectors.

    Texts that share words are similar (as with a real embedding model), so vector search
    and its fusion with full-text search can be tested for real. Text without words gets a
    vector hashed from the whole text.
    """
    words = re.findall(r"[a-z0-9]+", text.lower()) or [f"\0{text}"]
    values = np.sum([_word_vector(word, dimensions) for word in words], axis=0)
    norm = float(np.linalg.norm(values)) or 1.0
    return [round(float(v), 6) for v in values / norm]


@functools.lru_cache(maxsize=65536)
def _word_vector(word: str, dimensions: int) -> np.ndarray:
    """A word's own pseudo-random vector, in [-1, 1] per dimension."""
    raw = b""
    counter = 0
    while len(raw) < dimensions:
        raw += hashlib.sha256(f"{counter}:{word}".encode()).digest()
        counter += 1
    return np.frombuffer(raw[:dimensions], dtype=np.uint8) / 127.5 - 1.0


def usage(prompt_tokens: int, output_text: str) -> dict[str, int]:
    """A ``usageMetadata`` object."""
    output_tokens = (len(output_text) + 3) // 4
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt_tokens + output_tokens,
    }


# --- HTTP machinery -------------------------------------------------------------------------


@dataclass
class _Request:
    """One parsed HTTP request."""

    method: str
    target: str
    version: str
    headers: dict[str, str]  # lowercase names
    body: bytes


class _BadRequest(Exception):
    """The bytes received are not an HTTP/1.x request this server can parse."""


def parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Parse a request line and headers (without the blank line)."""
    try:
        request_line, *lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    except ValueError as exc:
        raise _BadRequest(head[:80]) from exc
    if not version.startswith("HTTP/1."):
        raise _BadRequest(version)
    return method, target, version, headers


class _Connection(asyncio.Protocol):
    """One client connection: reads keep-alive requests one at a time and answers them.

    Runs on the server's event loop. A client that closes its end (EOF) or resets the
    connection is noticed at once, even mid-response.
    """

    def __init__(self, owner: GeminiWireServer) -> None:
        self.owner = owner
        self.buffer = bytearray()
        self.gone = False
        self.keep_alive = True
        self.peer = ""
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None

    # -- protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start serving the connection."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        self.owner._connections.add(self)
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        """Buffer request bytes."""
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        """The client closed its end: treat it as gone (HTTP clients never half-close)."""
        self._mark_gone()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is closed."""
        self._mark_gone()
        self.owner._connections.discard(self)

    def _mark_gone(self) -> None:
        self.gone = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- waiting

    async def _wait(self, seconds: float | None) -> None:
        """Wait for new bytes, for the client to go away, or ``seconds`` (None: forever)."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, self._wake)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (``math.inf``: until the client closes); raise if it closes."""
        deadline = time.monotonic() + seconds
        while not self.gone:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await self._wait(None if math.isinf(left) else left)
        raise ClientGone

    # -- reading requests

    async def _serve(self) -> None:
        """Answer requests until the connection closes."""
        try:
            while self.keep_alive and not self.gone:
                request = await self._read_request()
                if request is None:
                    break
                await self._answer(request)
        except _BadRequest:
            self.keep_alive = False
            with contextlib.suppress(ClientGone):
                self.send_json(400, Reply(status=400, message="Bad request.").error_body())
        except Exception:
            log.exception("gemini_wire: unexpected failure serving %s", self.peer)
        finally:
            if self.transport is not None:
                self.transport.close()

    async def _read_request(self) -> _Request | None:
        """The next complete request, or ``None`` once the client is gone."""
        while not self.gone:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                method, target, version, headers = parse_head(bytes(self.buffer[:end]))
                length = headers.get("content-length") or "0"
                if not length.isdigit() or "chunked" in headers.get("transfer-encoding", ""):
                    raise _BadRequest("only Content-Length request bodies are supported")
                total = end + 4 + int(length)
                if len(self.buffer) >= total:
                    body = bytes(self.buffer[end + 4 : total])
                    del self.buffer[:total]
                    return _Request(method, target, version, headers, body)
            elif len(self.buffer) > MAX_HEAD:
                raise _BadRequest("request head too large")
            await self._wait(None)
        return None

    async def _answer(self, request: _Request) -> None:
        """Route one request; count a disconnect if the client leaves mid-response."""
        connection = request.headers.get("connection", "").lower()
        self.keep_alive = request.version == "HTTP/1.1" and connection != "close"
        record = None
        try:
            record = self._route(request)
            if record is not None:
                await self._dispatch(record)
        except ClientGone:
            self.keep_alive = False
            if record is not None and not self.owner._stopping.is_set():
                self.owner._note_disconnect(record)
        if not self.keep_alive and self.transport is not None:
            self.transport.close()

    def _route(self, request: _Request) -> Recorded | None:
        """Record a Gemini request; answer anything else with 404 and return ``None``."""
        split = urlsplit(request.target)
        match = PATH_RE.match(split.path)
        if request.method != "POST" or match is None:
            message = f"No route {request.method} {split.path}"
            self.send_json(404, Reply(status=404, message=message).error_body())
            return None
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            body = None
        record = Recorded(
            path=request.target,
            model=match["model"],
            method_name=match["method"],
            headers=request.headers,
            body=body,
            api_version=match["version"],
            query=dict(parse_qsl(split.query)),
            peer=self.peer,
        )
        self.owner._record(record)
        return record

    async def _dispatch(self, record: Recorded) -> None:
        """Answer ``record`` according to its method."""
        if not isinstance(record.body, dict):
            reply = Reply(status=400, message="Invalid JSON payload received.")
            self.send_json(400, reply.error_body())
        elif record.method_name in GENERATE_METHODS:
            await _Generation(self, record, self.owner._next_reply()).play()
        elif record.method_name == "countTokens":
            self.send_json(200, {"totalTokens": count_tokens(record.body)})
        elif record.method_name in ("batchEmbedContents", "embedContent"):
            self.send_json(200, _embeddings(record.body))
        else:
            message = f"Method {record.method_name} is not supported by this test server."
            self.send_json(404, Reply(status=404, message=message).error_body())

    # -- writing

    def write(self, data: bytes) -> None:
        """Send bytes; raise :class:`ClientGone` if the client has left."""
        if self.gone or self.transport is None or self.transport.is_closing():
            raise ClientGone
        self.transport.write(data)

    def send_head(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers."""
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Server: gemini-wire"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if not self.keep_alive:
            lines.append("Connection: close")
        self.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        """Send a complete JSON response with a Content-Length (keep-alive friendly)."""
        data = json.dumps(obj).encode()
        head = {"Content-Type": "application/json; charset=UTF-8", "Content-Length": str(len(data))}
        self.send_head(status, {**head, **(headers or {})})
        self.write(data)

    def start_stream(self) -> None:
        """Send the headers of a chunked server-sent-events response."""
        self.send_head(
            200,
            {
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )

    def send_frame(self, obj: Any) -> None:
        """Send one SSE frame as one HTTP chunk."""
        data = b"data: " + json.dumps(obj).encode() + b"\r\n\r\n"
        self.write(b"%X\r\n%s\r\n" % (len(data), data))

    def end_stream(self) -> None:
        """Send the terminating zero-length chunk."""
        self.write(b"0\r\n\r\n")

    def drop(self, reset: bool) -> None:
        """Close the connection now: a FIN after pending bytes, or a RST when ``reset``."""
        self.keep_alive = False
        if self.transport is None:
            return
        if reset:
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        else:
            self.transport.close()


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """The response to ``batchEmbedContents`` or ``embedContent``."""
    requests = body.get("requests")

    def one(request: dict[str, Any]) -> dict[str, Any]:
        dimensions = request.get("outputDimensionality") or EMBEDDING_DIMENSIONS
        return {"values": embedding(content_text(request.get("content")), dimensions)}

    if requests is None:
        return {"embedding": one(body)}
    return {"embeddings": [one(request) for request in requests]}


class _Generation:
    """Plays one :class:`Reply` to one ``generateContent``/``streamGenerateContent``."""

    def __init__(self, conn: _Connection, record: Recorded, reply: Reply) -> None:
        self.conn = conn
        self.record = record
        self.reply = reply
        self.owner = conn.owner
        self.stream = record.method_name == "streamGenerateContent"
        self.prompt_tokens = count_tokens(
            {key: record.body.get(key) for key in ("contents", "systemInstruction")}
        )
        self.response_id = f"wire-{record.number}"

    async def play(self) -> None:
        """Send the reply."""
        reply = self.reply
        await self.conn.pause(reply.delay)
        if reply.http_error:
            headers = {} if reply.retry_after is None else {"Retry-After": str(reply.retry_after)}
            self.conn.send_json(reply.status, reply.error_body(), headers)
        elif self.stream:
            await self._play_stream()
        else:
            await self._play_single()

    async def _play_single(self) -> None:
        """Answer ``generateContent``."""
        reply, conn = self.reply, self.conn
        if reply.hang:
            await conn.pause(math.inf)
        if reply.break_after is not None:
            conn.drop(reply.reset)
        elif reply.error_frame_after is not None:
            body = reply.error_body()
            conn.send_json(body["error"]["code"], body)
        elif reply.blocked:
            conn.send_json(200, self._blocked())
        else:
            text = "".join(self._chunks())
            conn.send_json(200, self._frame(text, text, reply.finish_reason))

    async def _play_stream(self) -> None:
        """Answer ``streamGenerateContent`` with SSE frames in chunked encoding."""
        reply, conn = self.reply, self.conn
        conn.start_stream()
        if reply.blocked:
            conn.send_frame(self._blocked())
        else:
            await self._send_chunks()
        if reply.error_frame_after is not None:
            conn.send_frame(reply.error_body())
        if reply.hang:
            await conn.pause(math.inf)
        if reply.break_after is not None:
            conn.drop(reply.reset)
        else:
            conn.end_stream()

    async def _send_chunks(self) -> None:
        """Send the content frames, up to ``break_after``/``error_frame_after`` of them."""
        reply, conn = self.reply, self.conn
        chunks = self._chunks() or [""]
        limits = (reply.break_after, reply.error_frame_after, len(chunks))
        cut = min(n for n in limits if n is not None)
        delay = self.owner.chunk_delay if reply.chunk_delay is None else reply.chunk_delay
        sent = ""
        for index, chunk in enumerate(chunks[:cut]):
            if index:
                await conn.pause(delay)
            sent += chunk
            last = index == len(chunks) - 1
            conn.send_frame(self._frame(chunk, sent, reply.finish_reason if last else None))

    def _chunks(self) -> list[str]:
        """The reply's text pieces (one piece per streamed chunk)."""
        reply, pieces = self.reply, self.owner.chunks
        if reply.chunks is not None:
            return list(reply.chunks)
        if reply.text is not None:
            return split_text(reply.text, pieces) if self.stream and reply.text else [reply.text]
        text = echo_text(self.record.body)
        return split_text(pad_words(text, pieces), pieces) if self.stream else [text]

    def _frame(self, text: str, sent: str, finish: str | None) -> dict[str, Any]:
        """A ``GenerateContentResponse`` carrying ``text``; ``sent`` is the text so far."""
        candidate: dict[str, Any] = {"index": 0}
        if text:
            candidate["content"] = {"parts": [{"text": text}], "role": "model"}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": usage(self.prompt_tokens, sent),
            "modelVersion": self.record.model,
            "responseId": self.response_id,
        }

    def _blocked(self) -> dict[str, Any]:
        """A response for a prompt refused outright."""
        return {
            "promptFeedback": {"blockReason": self.reply.blocked},
            "usageMetadata": usage(self.prompt_tokens, ""),
            "modelVersion": self.record.model,
            "responseId": self.response_id,
        }


# --- the public server ----------------------------------------------------------------------


class GeminiWireServer:
    """A scriptable Gemini REST server on a background event loop; a context manager.

    ``chunk_delay`` is the default pause between streamed chunks; ``chunks`` is how many
    pieces a text reply is split into when streamed (the echo reply is padded with filler
    words to reach it). ``max_records`` bounds the request log (``None``: unbounded).
    Every public method is thread-safe.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        chunk_delay: float = 0.0,
        chunks: int = 3,
        max_records: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.chunk_delay = chunk_delay
        self.chunks = chunks
        self.default: Reply | None = None
        self._changed = threading.Condition()
        self._requests: deque[Recorded] = deque(maxlen=max_records)
        self._scripts: deque[Reply] = deque()
        self._disconnects = 0
        self._numbers = itertools.count()
        self._stopping = threading.Event()
        self._connections: set[_Connection] = set()  # touched only on the loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    # -- lifecycle

    def start(self) -> GeminiWireServer:
        """Bind and serve on a background thread; return ``self``."""
        if self._loop is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="gemini-wire", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._open(), loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and the event loop."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        self._stopping.set()
        try:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=1024, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for connection in connections:
            if connection.transport is not None:
                connection.transport.abort()
        tasks = [c.task for c in connections if c.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def __enter__(self) -> GeminiWireServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._loop is None:
            raise RuntimeError("the server is not running")
        return f"http://{self.host}:{self.port}"

    # -- scripting

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next model requests, one each, in order."""
        with self._changed:
            self._scripts.extend(replies)

    def reset(self) -> None:
        """Forget requests, queued scripts, the default reply and the disconnect count."""
        with self._changed:
            self._requests.clear()
            self._scripts.clear()
            self._disconnects = 0
            self.default = None

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._changed:
            return len(self._scripts)

    # -- inspection

    @property
    def requests(self) -> list[Recorded]:
        """A snapshot of every request received, oldest first."""
        with self._changed:
            return list(self._requests)

    @property
    def last(self) -> Recorded:
        """The latest request."""
        with self._changed:
            if not self._requests:
                raise LookupError("the server has received no request")
            return self._requests[-1]

    def contents(self, index: int = -1) -> list[tuple[str, str]]:
        """``(role, text)`` of each content of request ``index``."""
        body = self.requests[index].body or {}
        return [(c.get("role", ""), content_text(c)) for c in body.get("contents") or []]

    def system_instruction(self, index: int = -1) -> str | None:
        """The system instruction text of request ``index``, or ``None``."""
        body = self.requests[index].body or {}
        instruction = body.get("systemInstruction")
        return None if instruction is None else content_text(instruction)

    @property
    def disconnects(self) -> int:
        """How many responses were cut short because the client went away."""
        with self._changed:
            return self._disconnects

    def wait_disconnect(self, timeout: float = 5.0, count: int = 1) -> bool:
        """Wait until ``disconnects >= count``; return whether it happened in time."""
        with self._changed:
            return self._changed.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` requests are recorded; return whether they were."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)

    # -- called on the event loop

    def _record(self, record: Recorded) -> None:
        with self._changed:
            record.number = next(self._numbers)
            self._requests.append(record)
            self._changed.notify_all()

    def _next_reply(self) -> Reply:
        with self._changed:
            if self._scripts:
                return self._scripts.popleft()
        return self.default or Reply()

    def _note_disconnect(self, record: Recorded) -> None:
        with self._changed:
            record.disconnected = True
            self._disconnects += 1
            self._changed.notify_all()


def main(argv: list[str] | None = None) -> int:
    """Serve until killed; print the base URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--chunks", type=int, default=3, help="chunks per streamed reply")
    parser.add_argument("--max-records", type=int, default=1000, help="request log size")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = GeminiWireServer(
        args.host,
        args.port,
        chunk_delay=args.chunk_delay,
        chunks=args.chunks,
        max_records=args.max_records,
    )
    with server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
