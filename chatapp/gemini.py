"""The only module that talks to the model.

:class:`GeminiModel` wraps one long-lived google-genai client; :class:`OfflineModel` answers
when no API key is configured, and says so. Both take the conversation as stored
(:class:`Turn` list) and return plain text, so callers never see SDK types. SDK and
transport failures become :class:`ModelError` with a stable code.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from flask import Flask, current_app
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

log = logging.getLogger(__name__)
RETRY_STATUSES = [408, 429, 500, 502, 503, 504]
# Finish reasons of a reply the model withheld (it then has no text at all).
BLOCKED_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}
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


def _config(system: str | None) -> types.GenerateContentConfig | None:
    """The request config: just the system instruction, when there is one."""
    return types.GenerateContentConfig(system_instruction=system) if system else None


def _usage(response: Any, usage: Usage) -> None:
    """Copy token counts from a response into ``usage``."""
    meta = getattr(response, "usage_metadata", None)
    if meta is not None:
        usage.prompt_tokens = meta.prompt_token_count or usage.prompt_tokens
        usage.output_tokens = meta.candidates_token_count or usage.output_tokens


def _text(response: Any) -> str:
    """Return a response's text, or raise PROMPT_BLOCKED when the prompt was refused."""
    feedback = getattr(response, "prompt_feedback", None)
    if feedback is not None and feedback.block_reason:
        raise ModelError(
            422,
            "PROMPT_BLOCKED",
            f"The model refused this message ({_name(feedback.block_reason)}). Rephrase it.",
        )
    candidates = response.candidates or []
    parts = (candidates[0].content.parts or []) if candidates and candidates[0].content else []
    text = "".join(part.text or "" for part in parts if not getattr(part, "thought", False))
    finish = candidates[0].finish_reason if candidates else None
    if not text and finish in BLOCKED_FINISH:
        raise ModelError(
            422, "PROMPT_BLOCKED", f"The model withheld its reply ({_name(finish)}). Rephrase it."
        )
    return text


def _name(reason: Any) -> str:
    """An SDK enum's plain value (``SAFETY``, not ``FinishReason.SAFETY``)."""
    return str(getattr(reason, "value", reason))


def translate(exc: Exception) -> ModelError:
    """Map an SDK or transport failure to a :class:`ModelError`."""
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return _from_api_error(exc)
    if isinstance(exc, httpx2.TimeoutException):
        return ModelError(504, "MODEL_TIMEOUT", "The model took too long to answer. Try again.")
    if isinstance(exc, httpx2.TransportError):
        return ModelError(
            502, "MODEL_UNAVAILABLE", "The connection to the model broke. Try again shortly."
        )
    raise exc


def _invalid_key(exc: genai_errors.APIError) -> bool:
    """Whether Gemini refused the API key (it answers 400 with reason ``API_KEY_INVALID``)."""
    error = exc.details.get("error", {}) if isinstance(exc.details, dict) else {}
    details = error.get("details") or []
    return any(isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in details)


def _from_api_error(exc: genai_errors.APIError) -> ModelError:
    """Map an HTTP error from the model's API."""
    code = exc.code or 500
    if code == 429:
        return ModelError(
            503,
            "MODEL_RATE_LIMITED",
            "The model's rate limit or quota is exhausted. Try again in a minute.",
            retry_after=60,
        )
    if code in (401, 403) or _invalid_key(exc):
        log.error("Gemini rejected the API key (%s): %s", code, exc.message)
        return ModelError(
            502, "MODEL_AUTH", "The server's model credentials were refused; tell the operator."
        )
    if code == 504 or code == 408:
        return ModelError(504, "MODEL_TIMEOUT", "The model took too long to answer. Try again.")
    if code >= 500:
        return ModelError(502, "MODEL_UNAVAILABLE", "The model is unavailable. Try again shortly.")
    log.warning("Gemini refused a request (%s): %s", code, exc.message)
    return ModelError(
        502, "MODEL_REQUEST_REJECTED", f"The model rejected the request: {exc.message}"
    )


@dataclass
class GeminiModel:
    """Gemini through one long-lived google-genai client."""

    client: genai.Client
    name: str
    cache: ChatCache = field(default_factory=lambda: ChatCache(1000))
    offline: bool = False

    def _chat(self, key: str, history: list[Turn], system: str | None) -> Any:
        """Return a chat object holding exactly ``history``, cached or rebuilt."""
        chat = self.cache.get(key, history, system)
        if chat is None:
            chat = self.client.chats.create(
                model=self.name, config=_config(system), history=_contents(history)
            )
            self.cache.put(key, system, chat)
        return chat

    def send(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> tuple[str, Usage]:
        """Send ``message`` in the conversation ``key``; return the reply."""
        usage = Usage()
        try:
            response = self._chat(key, history, system).send_message(message)
            text = _text(response)
        except Exception as exc:
            raise translate(exc) from exc
        _usage(response, usage)
        return text, usage

    def stream(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> ReplyStream:
        """Send ``message`` and stream the reply."""
        chat = self._chat(key, history, system)
        return self._stream(lambda: chat.send_message_stream(message))

    def generate(self, prompt: str, system: str | None = None) -> tuple[str, Usage]:
        """Answer a one-off prompt."""
        usage = Usage()
        try:
            response = self.client.models.generate_content(
                model=self.name, contents=prompt, config=_config(system)
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

    def reply_text(self, history: list[Turn], message: str) -> str:
        """Compose the reply: the notice, what was received, and how to connect Gemini."""
        quoted = message if len(message) <= 200 else message[:199] + "…"
        return (
            f"{OFFLINE_NOTICE}\n\n"
            f"I received this conversation with {len(history)} earlier turn(s) and your "
            f"message of {len(message)} character(s):\n\n> {quoted}\n\n"
            "To chat with Gemini, set `GEMINI_API_KEY` (and optionally `GEMINI_MODEL`) "
            "and restart chatapp."
        )

    def send(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> tuple[str, Usage]:
        """Reply at once."""
        return self.reply_text(history, message), Usage()

    def stream(
        self, key: str, history: list[Turn], message: str, system: str | None
    ) -> ReplyStream:
        """Reply word by word."""
        return ReplyStream(self._words(self.reply_text(history, message)), Usage())

    def generate(self, prompt: str, system: str | None = None) -> tuple[str, Usage]:
        """Answer a one-off prompt."""
        return self.reply_text([], prompt), Usage()

    def stream_prompt(self, prompt: str, system: str | None = None) -> ReplyStream:
        """Answer a one-off prompt word by word."""
        return ReplyStream(self._words(self.reply_text([], prompt)), Usage())

    def close(self) -> None:
        """Nothing to release."""

    def title(self, message: str) -> str:
        """Title from the message's first words (the offline model writes none)."""
        return fallback_title(message)

    def _words(self, text: str) -> Iterator[str]:
        """Yield ``text`` a word at a time, pausing like a model would."""
        words = text.split(" ")
        for index, word in enumerate(words):
            if self.delay and index:
                time.sleep(self.delay)
            yield word if index == len(words) - 1 else word + " "


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
    return GeminiModel(client, config["GEMINI_MODEL"], ChatCache(config["GEMINI_CHAT_CACHE"]))


def init_app(app: Flask) -> None:
    """Build the app's model once; tests may replace ``app.extensions["gemini"]``."""
    app.extensions["gemini"] = build_model(app.config)


def get_model() -> Model:
    """Return the current app's model."""
    return current_app.extensions["gemini"]
