"""Gemini through one long-lived google-genai client, requests built in wire form."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from google import genai
from google.genai import types

from chatapp.gemini import wire
from chatapp.gemini.base import (
    SUMMARY_PROMPT,
    TITLE_PROMPT,
    Grounding,
    Model,
    ModelError,
    ReplyStream,
    Turn,
    Usage,
    WebGrounding,
    clean_title,
    fallback_title,
    grounded_system,
    normalise,
    summary_request,
    summary_words,
)
from chatapp.gemini.failures import reply_text as _text
from chatapp.gemini.failures import translate
from chatapp.gemini.offline import OfflineModel
from chatapp.gemini.wire import Content

log = logging.getLogger(__name__)
RETRY_STATUSES = [408, 429, 500, 502, 503, 504]


def _contents(history: list[Turn], message: str) -> tuple[Content, ...]:
    """The contents of a turn: the stored history, then the new message."""
    return (*((turn.role, turn.text) for turn in history), ("user", message))


def _settings(system: str | None, grounding: Grounding | None) -> tuple[str | None, bool]:
    """A turn's system instruction (with its passages) and whether Google Search is on."""
    return grounded_system(system, grounding), bool(grounding and grounding.web_search)


def _usage(response: Any, usage: Usage) -> None:
    """Copy token counts and web grounding from a response into ``usage``."""
    meta = getattr(response, "usage_metadata", None)
    if meta is not None:
        usage.prompt_tokens = meta.prompt_token_count or usage.prompt_tokens
        usage.output_tokens = meta.candidates_token_count or usage.output_tokens
    candidates = getattr(response, "candidates", None) or []
    grounding = getattr(candidates[0], "grounding_metadata", None) if candidates else None
    if grounding is not None:
        usage.web = _web(grounding)


def _web(meta: types.GroundingMetadata) -> WebGrounding:
    """The web sources, supports and search suggestions of a grounded response."""
    sources = [
        (chunk.web.uri or "", chunk.web.title or chunk.web.domain or chunk.web.uri or "")
        for chunk in meta.grounding_chunks or []
        if chunk.web is not None
    ]
    supports = [
        (
            support.segment.end_index or 0,
            list(support.grounding_chunk_indices or []),
            support.segment.text or "",
        )
        for support in meta.grounding_supports or []
        if support.segment is not None
    ]
    entry = meta.search_entry_point.rendered_content if meta.search_entry_point else None
    return WebGrounding(sources, supports, entry)


@dataclass
class GeminiModel:
    """Gemini through one long-lived google-genai client."""

    client: genai.Client
    name: str
    offline: bool = False
    embedding_model: str = "gemini-embedding-001"
    embedding_dim: int = 768
    can_embed: bool = True

    def send(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> tuple[str, Usage]:
        """Send ``message`` after ``history``; return the reply.

        ``key`` (the conversation) is not needed: every request is built from the history
        as stored, in one pass (docs/decisions.md, "Requests in wire form").
        """
        return self._generate(_contents(history, message), *_settings(system, grounding))

    def stream(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> ReplyStream:
        """Send ``message`` after ``history`` and stream the reply."""
        return self._stream(_contents(history, message), *_settings(system, grounding))

    def generate(
        self, prompt: str, system: str | None = None, grounding: Grounding | None = None
    ) -> tuple[str, Usage]:
        """Answer a one-off prompt."""
        return self._generate((("user", prompt),), *_settings(system, grounding))

    def stream_prompt(self, prompt: str, system: str | None = None) -> ReplyStream:
        """Answer a one-off prompt chunk by chunk."""
        return self._stream((("user", prompt),), system, False)

    def _generate(
        self, contents: Sequence[Content], system: str | None, web_search: bool
    ) -> tuple[str, Usage]:
        """One generateContent request; the reply's text and usage."""
        usage = Usage()
        path, body = wire.request_body(
            self.client, self.name, wire.wire_contents(contents), system, web_search
        )
        try:
            response = wire.generate(self.client, path, body)
            text = _text(response)
        except Exception as exc:
            raise translate(exc) from exc
        _usage(response, usage)
        return text, usage

    def _stream(
        self, contents: Sequence[Content], system: str | None, web_search: bool
    ) -> ReplyStream:
        """A streamed request: text chunks, usage, errors translated."""
        usage = Usage()
        path, body = wire.request_body(
            self.client, self.name, wire.wire_contents(contents), system, web_search
        )

        def chunks() -> Iterator[str]:
            """Yield the non-empty text of each chunk; close the response in any case."""
            responses = wire.generate_stream(self.client, path, body)
            try:
                for response in responses:
                    _usage(response, usage)
                    text = _text(response)
                    if text:
                        yield text
            except GeneratorExit:
                raise
            except Exception as exc:
                raise translate(exc) from exc
            finally:
                responses.close()

        return ReplyStream(chunks(), usage)

    def embed(self, texts: list[str], task_type: str) -> list[list[float]]:
        """Embed ``texts`` in one batch call: unit vectors of ``embedding_dim`` numbers.

        ``task_type`` is ``RETRIEVAL_DOCUMENT`` or ``RETRIEVAL_QUERY``. Reduced-dimension
        vectors do not come normalised, so they are normalised here.
        """
        config = types.EmbedContentConfig(
            task_type=task_type, output_dimensionality=self.embedding_dim
        )
        try:
            response = self.client.models.embed_content(
                model=self.embedding_model, contents=texts, config=config
            )
        except Exception as exc:
            raise translate(exc) from exc
        vectors = [normalise(item.values or []) for item in response.embeddings or []]
        if len(vectors) != len(texts) or any(len(v) != self.embedding_dim for v in vectors):
            raise ModelError(502, "MODEL_BAD_EMBEDDING", "The model returned malformed embeddings.")
        return vectors

    def close(self) -> None:
        """Release the client's pooled connections."""
        self.client.close()

    def title(self, message: str) -> str:
        """Ask the model for a short title; fall back to the message's first words."""
        try:
            text, _ = self.generate(TITLE_PROMPT + message[:2000])
        except ModelError as exc:
            log.info("Title generation failed (%s); using the first words", exc.code)
            return fallback_title(message)
        return clean_title(text, message)

    def summarise(self, previous: str | None, turns: list[Turn], max_tokens: int) -> str:
        """Ask the model to fold ``turns`` into the summary so far (one request)."""
        system = SUMMARY_PROMPT.format(words=summary_words(max_tokens))
        text, _ = self._generate((("user", summary_request(previous, turns)),), system, False)
        if not text.strip():
            raise ModelError(502, "MODEL_EMPTY_SUMMARY", "The model wrote an empty summary.")
        return text.strip()


def build_model(config: dict[str, Any]) -> Model:
    """Build the model the configuration asks for."""
    if not config["GEMINI_API_KEY"]:
        return OfflineModel(delay=config["OFFLINE_MODEL_DELAY"])
    retry = types.HttpRetryOptions(
        attempts=max(1, config["GEMINI_RETRIES"]),
        initial_delay=0.5,
        max_delay=8.0,
        http_status_codes=RETRY_STATUSES,
    )
    options = types.HttpOptions(
        base_url=config["GEMINI_BASE_URL"] or None,
        api_version=config["GEMINI_API_VERSION"],
        timeout=int(config["GEMINI_TIMEOUT"] * 1000),  # the SDK counts milliseconds
        retry_options=retry,
        # One client serves every thread of the worker: allow as many connections as
        # there may be open streams (the HTTP library's default is 100).
        client_args={"limits": httpx2.Limits(max_connections=config["GEMINI_MAX_CONNECTIONS"])},
    )
    client = genai.Client(api_key=config["GEMINI_API_KEY"], http_options=options)
    return GeminiModel(
        client,
        config["GEMINI_MODEL"],
        embedding_model=config["GEMINI_EMBEDDING_MODEL"],
        embedding_dim=config["GEMINI_EMBEDDING_DIM"],
    )
