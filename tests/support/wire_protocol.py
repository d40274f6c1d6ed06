"""The wire server's HTTP/1.1 machinery: parsing, keep-alive, JSON and streamed answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import socket
import struct
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.wire_answers import Generation, embeddings_answer
from tests.support.wire_replies import (
    GENERATE_METHODS,
    MAX_HEAD,
    PATH_RE,
    ClientGone,
    Recorded,
    Reply,
    count_tokens,
)

if TYPE_CHECKING:
    from tests.support.gemini_wire import GeminiWireServer

log = logging.getLogger("tests.support.gemini_wire")


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


class Connection(asyncio.Protocol):
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
            await Generation(self, record, self.owner._next_reply()).play()
        elif record.method_name == "countTokens":
            failure = self.owner.count_failure
            if failure is not None:
                self.send_json(failure.status, failure.error_body())
            else:
                self.send_json(200, {"totalTokens": count_tokens(record.body)})
        elif record.method_name in ("batchEmbedContents", "embedContent"):
            reply = self.owner.next_embed_reply()
            if reply.http_error:
                retry = reply.retry_after
                headers = {} if retry is None else {"Retry-After": str(retry)}
                self.send_json(reply.status, reply.error_body(), headers)
            else:
                self.send_json(200, embeddings_answer(record.body))
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
