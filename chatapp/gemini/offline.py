"""The offline model: an honest stand-in when no API key is configured."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from chatapp.gemini.base import (
    CHARS_PER_TOKEN,
    Grounding,
    ModelError,
    ReplyStream,
    Turn,
    Usage,
    fallback_title,
)

OFFLINE_NOTICE = (
    "**Offline model.** chatapp has no Gemini API key, so this reply comes from its built-in "
    "offline model, not from Gemini."
)


@dataclass
class OfflineModel:
    """An honest stand-in when no API key is configured: it says what it is."""

    delay: float = 0.02
    name: str = "offline"
    offline: bool = True
    can_embed: bool = False
    embedding_model: str = ""
    embedding_dim: int = 0

    def reply_text(
        self, history: list[Turn], message: str, grounding: Grounding | None = None
    ) -> str:
        """Compose the reply: the notice, what was received, and how to connect Gemini."""
        quoted = message if len(message) <= 200 else message[:199] + "…"
        return (
            f"{OFFLINE_NOTICE}\n\n"
            f"I received this conversation with {len(history)} earlier turn(s) and your "
            f"message of {len(message)} character(s):\n\n> {quoted}\n\n"
            f"{retrieved_text(grounding)}"
            "To chat with Gemini, set `GEMINI_API_KEY` (and optionally `GEMINI_MODEL`) "
            "and restart chatapp."
        )

    def send(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> tuple[str, Usage]:
        """Reply at once."""
        return self.reply_text(history, message, grounding), Usage()

    def stream(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> ReplyStream:
        """Reply word by word."""
        return ReplyStream(self._words(self.reply_text(history, message, grounding)), Usage())

    def generate(
        self, prompt: str, system: str | None = None, grounding: Grounding | None = None
    ) -> tuple[str, Usage]:
        """Answer a one-off prompt."""
        return self.reply_text([], prompt, grounding), Usage()

    def stream_prompt(self, prompt: str, system: str | None = None) -> ReplyStream:
        """Answer a one-off prompt word by word."""
        return ReplyStream(self._words(self.reply_text([], prompt)), Usage())

    def embed(self, texts: list[str], task_type: str) -> list[list[float]]:
        """The offline model has no embeddings: retrieval is full-text only without a key."""
        raise ModelError(
            503,
            "EMBEDDINGS_UNAVAILABLE",
            "No Gemini key is configured, so there are no embeddings.",
        )

    def close(self) -> None:
        """Nothing to release."""

    def title(self, message: str) -> str:
        """Title from the message's first words (the offline model writes none)."""
        return fallback_title(message)

    def summarise(self, previous: str | None, turns: list[Turn], max_tokens: int) -> str:
        """A deterministic summary: the first words of each message, after the summary so
        far, its oldest part cut when it grows past ``max_tokens``."""
        gist = "; ".join(fallback_title(turn.text, words=8, limit=80) for turn in turns)
        text = f"Summary of {len(turns)} earlier messages: {gist}."
        if previous:
            text = f"{previous}\n{text}"
        limit = max(1, max_tokens) * CHARS_PER_TOKEN
        return text if len(text) <= limit else "…" + text[len(text) - limit + 1 :]

    def _words(self, text: str) -> Iterator[str]:
        """Yield ``text`` a word at a time, pausing like a model would."""
        words = text.split(" ")
        for index, word in enumerate(words):
            if self.delay and index:
                time.sleep(self.delay)
            yield word if index == len(words) - 1 else word + " "


def retrieved_text(grounding: Grounding | None) -> str:
    """What the offline model says about a turn's retrieval: the titles it was given, cited.

    A keyless user thus sees full-text retrieval and citations work.
    """
    if grounding is None:
        return ""
    lines = []
    if grounding.searched and grounding.passages:
        lines.append("Full-text search of your collections found:")
        lines += [f"- {p.title} [{p.index}]" for p in grounding.passages]
    elif grounding.searched:
        lines.append("Full-text search of your collections found nothing for this message.")
    if grounding.web_search:
        lines.append("Web search needs a Gemini key, so none was done.")
    return "\n".join(lines) + "\n\n" if lines else ""
