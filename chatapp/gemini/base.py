"""What every model shares: turns in, text out, failures with a stable code."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

TITLE_PROMPT = (
    "Write a short title (at most six words, no quotes, no punctuation at the end) for a "
    "conversation that starts with this message:\n\n"
)


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation as the model sees it."""

    role: str  # "user" or "model"
    text: str


@dataclass
class Usage:
    """Token counts the model reported, when it did."""

    prompt_tokens: int | None = None
    output_tokens: int | None = None


class ModelError(Exception):
    """A model failure a client can act on, with a stable code and an HTTP status."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class ReplyStream:
    """An iterator of reply text chunks; ``usage`` is filled in as the model reports it.

    ``close()`` cancels the model request (the HTTP response is closed).
    """

    def __init__(self, chunks: Iterator[str], usage: Usage, closer: Any = None) -> None:
        self._chunks = chunks
        self.usage = usage
        self._closer = closer

    def __iter__(self) -> Iterator[str]:
        return self._chunks

    def close(self) -> None:
        """Stop the model call; safe to call twice or after the end."""
        close = getattr(self._closer or self._chunks, "close", None)
        if close is not None:
            close()


class Model(Protocol):
    """What the rest of chatapp may ask of a model."""

    name: str
    offline: bool

    def send(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> tuple[str, Usage]:
        """Reply to ``message`` after ``history``."""

    def stream(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> ReplyStream:
        """Reply to ``message`` after ``history``, chunk by chunk."""

    def generate(self, prompt: str, system: str | None = None) -> tuple[str, Usage]:
        """Answer a one-off prompt with no conversation."""

    def stream_prompt(self, prompt: str, system: str | None = None) -> ReplyStream:
        """Answer a one-off prompt chunk by chunk."""

    def title(self, message: str) -> str:
        """Return a short title for a conversation starting with ``message``."""

    # Whether :meth:`embed` works (the offline model has no embeddings).
    can_embed: bool
    embedding_model: str
    embedding_dim: int

    def embed(self, texts: list[str], task_type: str) -> list[list[float]]:
        """Unit vectors for ``texts`` (``RETRIEVAL_DOCUMENT`` or ``RETRIEVAL_QUERY``)."""

    def close(self) -> None:
        """Release the model's connections."""


def fallback_title(message: str, words: int = 6, limit: int = 60) -> str:
    """Make a title from the first words of a message."""
    text = " ".join(message.split()[:words]).strip(" .,:;!?") or "New conversation"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_title(raw: str, message: str) -> str:
    """Tidy a model-written title, falling back to the message's first words."""
    line = next((part for part in raw.strip().splitlines() if part.strip()), "")
    line = line.strip().strip("\"'*#`").strip().rstrip(".")
    return fallback_title(line) if line else fallback_title(message)


def normalise(values: list[float]) -> list[float]:
    """Scale a vector to unit length (a zero vector stays zero)."""
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else list(values)
