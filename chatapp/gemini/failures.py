"""SDK and transport failures, and withheld replies, as :class:`ModelError`."""

from __future__ import annotations

import logging
from typing import Any

import httpx2
from google.genai import errors as genai_errors

from chatapp.gemini.base import ModelError

log = logging.getLogger(__name__)
# Finish reasons of a reply the model withheld (it then has no text at all).
BLOCKED_FINISH = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}


def reply_text(response: Any) -> str:
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
