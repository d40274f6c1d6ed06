"""Configuration: safe defaults here, values from the environment at app creation.

Every key of :class:`Config` can be set by an environment variable of the same name
(or in ``.env``, or in ``instance/config.py``). ``DATABASE_URL`` is an alias for
``SQLALCHEMY_DATABASE_URI``. Nothing is read at import time.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask


class Config:
    """Defaults that are safe for a laptop; production overrides them by environment."""

    # "development" or "production"; production refuses an unset or default SECRET_KEY.
    CHATAPP_ENV = "development"
    SECRET_KEY = ""
    SQLALCHEMY_DATABASE_URI = ""  # empty: SQLite file in instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    # Largest request body accepted, in bytes (413 past it).
    MAX_CONTENT_LENGTH = 256 * 1024

    GEMINI_API_KEY = ""  # empty: the offline model answers
    GEMINI_MODEL = "gemini-flash-latest"  # the 2.5 family shuts down on 2026-12-01
    GEMINI_BASE_URL = ""  # empty: Google's endpoint
    GEMINI_API_VERSION = "v1beta"
    GEMINI_TIMEOUT = 60.0  # seconds
    GEMINI_RETRIES = 3  # attempts for 408/429/5xx before a reply starts
    GEMINI_MAX_CONNECTIONS = 1000  # open connections to the model per worker process
    OFFLINE_MODEL_DELAY = 0.02  # seconds between the offline model's streamed words

    CHAT_MAX_MESSAGE_CHARS = 32000  # longest user message
    CHAT_CONTEXT_TOKENS = 100_000  # history budget sent to the model (newest turns kept)
    # Older turns that fall out of CHAT_CONTEXT_TOKENS are replaced by a summary the model
    # writes (stored, updated as more falls out); off: they are only dropped.
    CHAT_SUMMARIES = True
    # A turn's lock lapses this many seconds after its process last renewed it (every third
    # of it while the turn runs): a killed worker's conversation is free again within it.
    CHAT_TURN_LEASE = 10.0
    # Upper bound: a turn older than this is taken over even if its process still renews it.
    CHAT_TURN_TIMEOUT = 300
    STREAM_KEEPALIVE = 15.0  # seconds of model silence before a `: keep-alive` comment
    STREAM_STOP_POLL = 0.05  # seconds between each worker's checks for stop requests
    # Most of the user's own text (estimated tokens) sent for an insight or prompt ideas.
    INSIGHT_CONTEXT_TOKENS = 8000

    # Knowledge and grounding.
    GEMINI_EMBEDDING_MODEL = "gemini-embedding-001"
    GEMINI_EMBEDDING_DIM = 768  # at most 2000 for a pgvector HNSW index
    EMBEDDING_BATCH = 100  # texts per embedding call
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024  # largest uploaded file (413 past it)
    IMPORT_MAX_BYTES = 200 * 1024 * 1024  # largest conversation import (413 past it)
    RETRIEVAL_TOP_K = 10  # passages per turn or search, across all chosen collections
    RETRIEVAL_CONTEXT_TOKENS = 30_000  # most passage text (estimated tokens) per turn
    CHUNK_SIZE = 1200  # characters per chunk, paragraph-aware
    CHUNK_OVERLAP = 200  # characters shared by neighbouring chunks
    JOBS_IN_APP = True  # each app process runs background jobs (indexing) in a thread
    JOB_LEASE_SECONDS = 60  # a claimed job whose lease lapses is picked up again

    # Files attached to messages (images, PDF, text): see README "Files".
    FILES_STORE = "database"  # where their bytes live; "database" works across many hosts
    FILES_MAX_BYTES = 10 * 1024 * 1024  # largest uploaded file (413 past it)
    FILES_MAX_PIXELS = 50_000_000  # largest image, in pixels (413 past it)
    FILES_PER_MESSAGE = 10  # most files attached to one message (413 past it)
    FILES_PER_MESSAGE_BYTES = 20 * 1024 * 1024  # most bytes attached to one message
    FILES_USER_QUOTA_BYTES = 500 * 1024 * 1024  # most bytes of files one user keeps
    FILES_UNATTACHED_TTL = 24 * 3600  # seconds a file never attached is kept
    FILES_CLEANUP_INTERVAL = 3600  # seconds between the runner's removals of those files

    REDIS_URL = ""

    # Other origins whose pages may call /api/ with a Bearer token, comma-separated
    # ("https://app.example.com,http://localhost:3000"); "*" allows any. Empty: same origin
    # only. Cookies are never accepted from them (no credentials).
    CORS_ORIGINS = ""

    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = "5 per minute"  # failed logins/registrations per client IP
    RATELIMIT_CHAT = "20 per minute"  # messages to the model per user, all chat routes
    RATELIMIT_SESSIONS = "100 per minute"  # conversation management per user
    RATELIMIT_INSIGHTS = "10 per hour"  # insight generation per user
    RATELIMIT_UPLOADS = "60 per hour"  # documents added per user
    RATELIMIT_TRANSFERS = "20 per hour"  # exports of everything and imports, per user
    RATELIMIT_FILES = "200 per hour"  # files uploaded per user
    RATELIMIT_ANONYMOUS = "60 per minute"  # requests without a login or token, per IP
    # Rate-limit storage down: count in process memory (logged) rather than fail requests.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # Reverse proxies in front of the app whose X-Forwarded-For is believed (0: none).
    TRUSTED_PROXIES = 0

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the login session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "Keep me logged in": the remember cookie's lifetime in seconds (30 days).
    REMEMBER_COOKIE_DURATION = 30 * 24 * 3600
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Cookies only over HTTPS; always on in production, whatever is set here.
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False


# Environment names that differ from the config key they set.
ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config``: defaults, then instance file and environment, or the test mapping."""
    app.config.from_object(Config)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(from_environment(os.environ))
    else:
        app.config.from_mapping(test_config)
    _finish(app)


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Return the config keys set in ``environ``, converted to the type of their default."""
    values: dict[str, Any] = {}
    for name, raw in environ.items():
        key = ALIASES.get(name, name)
        if not key.isupper() or not hasattr(Config, key):
            continue
        values[key] = _convert(raw, getattr(Config, key))
    return values


def _convert(raw: str, default: Any) -> Any:
    """Convert an environment string to the type of ``default``."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if default is None or isinstance(default, str):
        return raw
    raise ValueError(f"{raw!r} cannot set a structured setting; use instance/config.py")


def _finish(app: Flask) -> None:
    """Derive the values that depend on others, and refuse unsafe production settings."""
    config = app.config
    if not config["SQLALCHEMY_DATABASE_URI"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'chatapp.db'}"
    if config["REDIS_URL"] and config["RATELIMIT_STORAGE_URI"] == "memory://":
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
    if config["CHATAPP_ENV"] == "production":
        _production(config)
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _development_secret(Path(app.instance_path))


# Shortest SECRET_KEY accepted in production, in bytes (it signs sessions and cookies).
MIN_SECRET_BYTES = 32


def _production(config: dict[str, Any]) -> None:
    """Refuse a short or default secret key, and send cookies over HTTPS only."""
    if len(str(config["SECRET_KEY"]).encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(
            f"SECRET_KEY must be at least {MIN_SECRET_BYTES} random bytes in production; "
            "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    config["SESSION_COOKIE_SECURE"] = True
    config["REMEMBER_COOKIE_SECURE"] = True


def _development_secret(instance: Path) -> str:
    """Return a random key kept in ``instance/secret_key`` so logins survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
