"""Gemini through one long-lived google-genai client, with a per-process chat cache."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from google import genai
from google.genai import types

from chatapp.gemini.base import (
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
)
from chatapp.gemini.failures import reply_text as _text
from chatapp.gemini.failures import translate
from chatapp.gemini.offline import OfflineModel

log = logging.getLogger(__name__)
RETRY_STATUSES = [408, 429, 500, 502, 503, 504]


class ChatCache:
    """A bounded per-process cache of SDK chat objects, one per conversation.

    An entry is reused only while its own curated history equals what is stored;
    otherwise the caller rebuilds it. After a streamed reply the SDK holds one model
    turn per chunk, so such a chat never matches and is rebuilt, as it must be.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, Any]] = OrderedDict()

    def get(self, key: str, history: list[Turn], system: str | None) -> Any | None:
        """Return the cached chat if it matches ``history`` and ``system``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        digest, chat = entry
        if digest != _digest(system) or _turns(chat.get_history(curated=True)) != history:
            return None
        return chat

    def put(self, key: str, system: str | None, chat: Any) -> None:
        """Remember ``chat`` for ``key``, evicting the least recently used."""
        with self._lock:
            self._entries[key] = (_digest(system), chat)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _digest(text: str | None) -> str:
    """Fingerprint a system instruction."""
    return hashlib.sha256((text or "").encode()).hexdigest()


def _turns(contents: list[types.Content]) -> list[Turn]:
    """Convert SDK contents to turns."""
    return [
        Turn(content.role or "user", "".join(part.text or "" for part in content.parts or []))
        for content in contents
    ]


def _contents(history: list[Turn]) -> list[types.Content]:
    """Convert turns to SDK contents."""
    return [types.Content(role=turn.role, parts=[types.Part(text=turn.text)]) for turn in history]


def _config(system: str | None, web_search: bool = False) -> types.GenerateContentConfig | None:
    """The request config: the system instruction and Google Search, when there are."""
    if not system and not web_search:
        return None
    tools = [types.Tool(google_search=types.GoogleSearch())] if web_search else None
    return types.GenerateContentConfig(system_instruction=system or None, tools=tools)


def _settings(system: str | None, grounding: Grounding | None) -> tuple[str | None, bool]:
    """A turn's system instruction (with its passages) and whether Google Search is on."""
    return grounded_system(system, grounding), bool(grounding and grounding.web_search)


def _fingerprint(system: str | None, web_search: bool) -> str | None:
    """What a cached chat's config is compared by: its instruction and its tools."""
    return f"{system or ''}\x00google_search" if web_search else system


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
    cache: ChatCache = field(default_factory=lambda: ChatCache(1000))
    offline: bool = False
    embedding_model: str = "gemini-embedding-001"
    embedding_dim: int = 768
    can_embed: bool = True

    def _chat(
        self, key: str, history: list[Turn], system: str | None, grounding: Grounding | None
    ) -> Any:
        """Return a chat object holding exactly ``history``, cached or rebuilt.

        A turn's passages live only in its system instruction, so a chat built for one
        grounded turn never matches the next turn's fingerprint and is rebuilt.
        """
        system, web_search = _settings(system, grounding)
        fingerprint = _fingerprint(system, web_search)
        chat = self.cache.get(key, history, fingerprint)
        if chat is None:
            chat = self.client.chats.create(
                model=self.name, config=_config(system, web_search), history=_contents(history)
            )
            self.cache.put(key, fingerprint, chat)
        return chat

    def send(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> tuple[str, Usage]:
        """Send ``message`` in the conversation ``key``; return the reply."""
        usage = Usage()
        try:
            response = self._chat(key, history, system, grounding).send_message(message)
            text = _text(response)
        except Exception as exc:
            raise translate(exc) from exc
        _usage(response, usage)
        return text, usage

    def stream(
        self,
        key: str,
        history: list[Turn],
        message: str,
        system: str | None,
        grounding: Grounding | None = None,
    ) -> ReplyStream:
        """Send ``message`` and stream the reply."""
        chat = self._chat(key, history, system, grounding)
        return self._stream(lambda: chat.send_message_stream(message))

    def generate(
        self, prompt: str, system: str | None = None, grounding: Grounding | None = None
    ) -> tuple[str, Usage]:
        """Answer a one-off prompt."""
        usage = Usage()
        try:
            response = self.client.models.generate_content(
                model=self.name, contents=prompt, config=_config(*_settings(system, grounding))
            )
            text = _text(response)
        except Exception as exc:
            raise translate(exc) from exc
        _usage(response, usage)
        return text, usage

    def stream_prompt(self, prompt: str, system: str | None = None) -> ReplyStream:
        """Answer a one-off prompt chunk by chunk."""
        return self._stream(
            lambda: self.client.models.generate_content_stream(
                model=self.name, contents=prompt, config=_config(system)
            )
        )

    def _stream(self, start: Any) -> ReplyStream:
        """Wrap an SDK response iterator: text chunks, usage, errors translated."""
        usage = Usage()
        holder: dict[str, Any] = {}

        def chunks() -> Iterator[str]:
            """Yield the non-empty text of each SDK chunk; close the response in any case."""
            try:
                holder["responses"] = responses = start()
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
                _close(holder.get("responses"))

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


def _close(responses: Any) -> None:
    """Close an SDK response iterator so its HTTP connection is released."""
    close = getattr(responses, "close", None)
    if close is not None:
        close()


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
        ChatCache(config["GEMINI_CHAT_CACHE"]),
        embedding_model=config["GEMINI_EMBEDDING_MODEL"],
        embedding_dim=config["GEMINI_EMBEDDING_DIM"],
    )
