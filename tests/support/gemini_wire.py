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
  characters of all the text in the request, plus 258 per inline file
  (``server.count_failure``, a :class:`Reply` with an error ``status``, makes it fail).
* ``POST /{v}/models/{model}:batchEmbedContents`` (and ``:embedContent``): small
  deterministic unit vectors derived from the text's words, so texts sharing words are
  similar (see :func:`embedding`).

Model requests (``generateContent`` and ``streamGenerateContent``) each consume one
scripted :class:`Reply`, first in first out; with none queued, ``server.default`` applies,
and with no default the server echoes: ``"Echo: <last user text> (turns=<contents>)"``.
Other endpoints never consume them; embedding requests take theirs from a queue of their
own, :meth:`GeminiWireServer.script_embeddings` (an error reply fails the whole batch; a
200 reply answers normally), and ``server.embed_failure`` (a :class:`Reply` with an error
``status``) makes every embedding request fail until it is reset.

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
import itertools
import signal
import sys
import threading
from collections import deque

from tests.support.wire_protocol import Connection
from tests.support.wire_replies import (
    GENERATE_METHODS,
    Recorded,
    Reply,
    content_text,
    embedding,
    grounding_metadata,
    pad_words,
    split_text,
)

__all__ = [
    "GENERATE_METHODS",
    "GeminiWireServer",
    "Recorded",
    "Reply",
    "embedding",
    "grounding_metadata",
    "pad_words",
    "split_text",
]


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
        # When set, every embedding request fails with this reply's HTTP error.
        self.embed_failure: Reply | None = None
        # When set, every countTokens request fails with this reply's HTTP error.
        self.count_failure: Reply | None = None
        self._changed = threading.Condition()
        self._requests: deque[Recorded] = deque(maxlen=max_records)
        self._scripts: deque[Reply] = deque()
        self._embed_scripts: deque[Reply] = deque()
        self._disconnects = 0
        self._numbers = itertools.count()
        self._stopping = threading.Event()
        self._connections: set[Connection] = set()  # touched only on the loop
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
            lambda: Connection(self), self.host, self.port, backlog=1024, reuse_address=True
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

    def script_embeddings(self, *replies: Reply) -> None:
        """Queue replies for the next embedding requests, one each, in order."""
        with self._changed:
            self._embed_scripts.extend(replies)

    def next_embed_reply(self) -> Reply:
        """The reply to the next embedding request: ``embed_failure``, or the next script."""
        with self._changed:
            if self.embed_failure is not None:
                return self.embed_failure
            return self._embed_scripts.popleft() if self._embed_scripts else Reply()

    def reset(self) -> None:
        """Forget requests, queued scripts, the default reply and the disconnect count."""
        with self._changed:
            self._requests.clear()
            self._scripts.clear()
            self._embed_scripts.clear()
            self._disconnects = 0
            self.default = None
            self.embed_failure = None
            self.count_failure = None

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
