"""The wire server's vocabulary: scripted replies, recorded requests, and the pure helpers
(echo text, token counts, embeddings, text splitting) that shape its answers."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
    grounding: dict[str, Any] | None = None

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


def found(obj: Any, name: str) -> Iterator[Any]:
    """Yield every value stored under the key ``name`` anywhere in a JSON value."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == name:
                yield value
            else:
                yield from found(value, name)
    elif isinstance(obj, list):
        for item in obj:
            yield from found(item, name)


def texts(obj: Any) -> Iterator[str]:
    """Yield every string stored under a ``"text"`` key anywhere in a JSON value."""
    return (value for value in found(obj, "text") if isinstance(value, str))


# What the server counts for each file sent inline (an image up to 384 pixels, in Gemini).
INLINE_TOKENS = 258


def count_tokens(obj: Any) -> int:
    """Estimate tokens as Gemini roughly does for English: a quarter of the characters;
    and :data:`INLINE_TOKENS` for each inline file."""
    text = (sum(len(text) for text in texts(obj)) + 3) // 4
    return text + INLINE_TOKENS * sum(1 for _ in found(obj, "inlineData"))


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


@functools.lru_cache(maxsize=65536)
def _hashed_vector(token: str, dimensions: int) -> np.ndarray:
    """A deterministic unit vector for one token (SHA-256 bytes mapped to [-1, 1])."""
    raw = b""
    counter = 0
    while len(raw) < dimensions:
        raw += hashlib.sha256(f"{counter}:{token}".encode()).digest()
        counter += 1
    values = np.frombuffer(raw[:dimensions], dtype=np.uint8) / 127.5 - 1.0
    return values / (float(np.linalg.norm(values)) or 1.0)


def embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``: the normalised sum of its words' vectors.

    Each lower-cased word hashes to its own unit vector, so texts that share words are
    similar (cosine grows with the shared words) and unrelated texts are nearly
    orthogonal in high dimensions. A text without words hashes as a whole. Word vectors
    are cached, so benchmarks can embed large corpora quickly.
    """
    words = re.findall(r"\w+", text.lower()) or [text]
    total = np.sum([_hashed_vector(word, dimensions) for word in words], axis=0)
    norm = float(np.linalg.norm(total)) or 1.0
    return [round(float(v), 6) for v in total / norm]


def grounding_metadata(
    sources: list[tuple[str, str]],
    supports: list[tuple[str, int, list[int]]] = (),
    entry_point: str | None = None,
    queries: list[str] = (),
) -> dict[str, Any]:
    """A Google Search ``groundingMetadata``: web ``(uri, title)`` chunks, and supports as
    ``(segment text, end byte offset, chunk indices)``."""
    meta: dict[str, Any] = {
        "groundingChunks": [{"web": {"uri": uri, "title": title}} for uri, title in sources],
        "groundingSupports": [
            {
                "segment": {
                    "startIndex": max(0, end - len(text.encode())),
                    "endIndex": end,
                    "text": text,
                },
                "groundingChunkIndices": list(indices),
            }
            for text, end, indices in supports
        ],
        "webSearchQueries": list(queries),
    }
    if entry_point is not None:
        meta["searchEntryPoint"] = {"renderedContent": entry_point}
    return meta


def usage(prompt_tokens: int, output_text: str) -> dict[str, int]:
    """A ``usageMetadata`` object."""
    output_tokens = (len(output_text) + 3) // 4
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt_tokens + output_tokens,
    }
