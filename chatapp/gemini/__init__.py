"""The only package that talks to the model.

:class:`~chatapp.gemini.cloud.GeminiModel` wraps one long-lived google-genai client;
:class:`~chatapp.gemini.offline.OfflineModel` answers when no API key is configured, and
says so. Both take the conversation as stored (:class:`Turn` list) and return plain text,
so callers never see SDK types. SDK and transport failures become :class:`ModelError` with
a stable code. Only this package imports ``google.genai``.
"""

from __future__ import annotations

from flask import Flask, current_app

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
    estimate_tokens,
    fallback_title,
)
from chatapp.gemini.base import Passage as GroundingPassage
from chatapp.gemini.cloud import GeminiModel, build_model
from chatapp.gemini.failures import translate
from chatapp.gemini.offline import OFFLINE_NOTICE, OfflineModel

__all__ = [
    "OFFLINE_NOTICE",
    "SUMMARY_PROMPT",
    "TITLE_PROMPT",
    "GeminiModel",
    "Grounding",
    "GroundingPassage",
    "Model",
    "ModelError",
    "OfflineModel",
    "ReplyStream",
    "Turn",
    "Usage",
    "WebGrounding",
    "build_model",
    "clean_title",
    "estimate_tokens",
    "fallback_title",
    "get_model",
    "init_app",
    "translate",
]


def init_app(app: Flask) -> None:
    """Build the app's model once; tests may replace ``app.extensions["gemini"]``."""
    app.extensions["gemini"] = build_model(app.config)


def get_model() -> Model:
    """Return the current app's model."""
    return current_app.extensions["gemini"]
