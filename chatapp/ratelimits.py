"""Rate limits (flask-limiter): who is counted, the shared limits, the 429 answer.

Signed-in callers are counted by user, everyone else by client IP (``X-Forwarded-For`` is
believed only behind ``TRUSTED_PROXIES`` proxies). Counters live in ``RATELIMIT_STORAGE_URI``
(``REDIS_URL`` when set), so every worker and host shares them. When that storage fails,
flask-limiter logs a warning and counts in process memory until it answers again: requests
are still served.

Views opt in with the decorators below; the API authenticates in a ``before_request`` hook,
and flask-limiter checks decorated limits inside the view call, after every hook, so the
key function sees ``g.user``::

    @bp.post("/message")
    @chat_limit
    def send_message(...): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from chatapp.bearer import request_bearer_user
from chatapp.errors import error_response, wants_json
from chatapp.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])
# Config keys holding a limit string such as "20 per minute" (or "5/minute;100/day").
LIMIT_KEYS = (
    "RATELIMIT_CHAT",
    "RATELIMIT_SESSIONS",
    "RATELIMIT_INSIGHTS",
    "RATELIMIT_UPLOADS",
    "RATELIMIT_TRANSFERS",
    "RATELIMIT_FILES",
    "RATELIMIT_ANONYMOUS",
    "RATELIMIT_LOGIN",
)


def user_or_ip() -> str:
    """Key a limit by the authenticated user when there is one, else by client IP."""
    user = g.get("user")
    if user is not None:
        return f"user:{user.id}"
    return f"ip:{get_remote_address()}"


def configured(key: str) -> Callable[[], str]:
    """Return a callable reading limit ``key`` from the running app's config."""
    return lambda: current_app.config[key]


def _shared(key: str, scope: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """A per-user limit from config ``key``, one counter per user across every route using it."""
    return limiter.shared_limit(configured(key), scope=scope, key_func=user_or_ip)


#: Sending a message to the model: every chat route, streaming or not, shares the count.
chat_limit = _shared("RATELIMIT_CHAT", "chat")
#: Listing, reading, creating, renaming and deleting conversations.
session_limit = _shared("RATELIMIT_SESSIONS", "sessions")
#: Generating insights (for the insights feature).
insight_limit = _shared("RATELIMIT_INSIGHTS", "insights")
#: Adding documents to knowledge collections (uploads and text).
upload_limit = _shared("RATELIMIT_UPLOADS", "uploads")
#: Exporting all conversations and importing a file: each reads or writes everything.
transfer_limit = _shared("RATELIMIT_TRANSFERS", "transfers")
#: Uploading files to attach to messages.
file_limit = _shared("RATELIMIT_FILES", "files")


def failed_login(response: Response) -> bool:
    """Whether a login attempt failed: a wrong password (401, or 403 ``WRONG_PASSWORD`` when
    changing it) or a registration that found the username or email taken (409, which
    tells that an account exists)."""
    if response.status_code in (401, 409):
        return True
    body = response.get_json(silent=True) if response.is_json else None
    return isinstance(body, dict) and body.get("code") == "WRONG_PASSWORD"


#: Password guesses: the login form, ``POST /api/v1/auth/tokens`` with a password, and
#: registration draw on ONE per-IP budget of failed attempts, ``RATELIMIT_LOGIN``.
login_limit = limiter.shared_limit(
    configured("RATELIMIT_LOGIN"),
    scope="login",
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=failed_login,
)


def is_authenticated() -> bool:
    """Whether the request carries a valid login cookie or API token.

    Application limits are checked before the API's ``authenticate`` hook, so this resolves
    the credentials itself; an unknown token is anonymous and counted.
    """
    if g.get("user") is not None or current_user.is_authenticated:
        return True
    return request_bearer_user() is not None


def counts_as_anonymous(_response: Response) -> bool:
    """Whether a finished request was served to nobody in particular (no login, no token)."""
    return g.get("user") is None and not current_user.is_authenticated


@limiter.request_filter
def is_options() -> bool:
    """``OPTIONS`` (a CORS preflight) counts in no limit: Flask answers it from the route
    table, touching nothing, and a browser sends one before many cross-origin calls."""
    return request.method == "OPTIONS"


def validate_limits(config: dict[str, object]) -> None:
    """Refuse to start with a limit string flask-limiter cannot parse."""
    for key in LIMIT_KEYS:
        value = config.get(key)
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            parse_many(value)
        except ValueError:
            raise RuntimeError(
                f"{key}={value!r} is not a rate limit; write for example '20 per minute' "
                "or '10/hour;100/day'."
            ) from None


def handle_rate_limited(exc: RateLimitExceeded) -> Response | RateLimitExceeded:
    """Answer 429 in the one error shape; flask-limiter adds Retry-After and X-RateLimit-*."""
    if not wants_json():
        return exc
    return error_response(
        429,
        "TOO_MANY_REQUESTS",
        f"Rate limit exceeded ({exc.description}). Wait for Retry-After seconds and try again.",
        error="Too many requests",
    )


def keep_retry_after_meaningful(response: Response) -> Response:
    """Drop the ``Retry-After`` flask-limiter adds to every response, except where a
    client should wait: a 429, and a 503 (the model's own rate limit)."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def init_app(app: Flask) -> None:
    """Check the limits, trust the configured proxies, and attach flask-limiter to ``app``."""
    config = app.config
    validate_limits(config)
    proxies = int(config["TRUSTED_PROXIES"])
    if proxies < 0:
        raise RuntimeError("TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies.")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    # Anonymous requests share one per-IP budget across the whole app.
    config.setdefault("RATELIMIT_APPLICATION", configured("RATELIMIT_ANONYMOUS"))
    config.setdefault("RATELIMIT_APPLICATION_EXEMPT_WHEN", is_authenticated)
    config.setdefault("RATELIMIT_APPLICATION_DEDUCT_WHEN", counts_as_anonymous)
    if config["RATELIMIT_STORAGE_URI"].startswith(("redis", "rediss")):
        # A Redis that stops answering must not hold requests up for long.
        config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1}
        )
    # Registered before flask-limiter's own hook, so it runs after it.
    app.after_request(keep_retry_after_meaningful)
    limiter.init_app(app)
    limiter._storage_dead = False  # the one limiter outlives test apps; start each one healthy
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
