"""Cross-origin calls to the API (flask-cors), for token clients served from other origins.

``CORS_ORIGINS`` lists the origins whose pages may call any route under ``/api/``: they may
send ``Authorization`` and ``Content-Type`` and read ``Retry-After`` and the rate-limit
headers. Credentials are never allowed (no ``Access-Control-Allow-Credentials``): a browser
never shows another origin's page an answer made with the login cookie, and a cookie write
never passes its preflight. The API also refuses the cookie on a request another site
started or a listed origin sent (:func:`chatapp.api.views.refuse_cross_site`).
Empty (the default): no CORS headers at all, the browser keeps every other origin out.

Preflights (``OPTIONS``) are answered from the route table: the API's authentication and
the rate limits let them through.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_cors import CORS
from flask_limiter.constants import ConfigVars, HeaderNames

# Every route under /api/, including routes added later.
API_PATHS = r"/api/.*"
# Request headers a listed origin may send.
ALLOWED_HEADERS = ["Authorization", "Content-Type"]
# Where init_app keeps the listed origins (exact patterns; "*" left out) for the API's checks.
LISTED_KEY = "chatapp.cors_origins"
# Seconds a browser may reuse a preflight's answer for the same request shape.
PREFLIGHT_MAX_AGE = 600


def init_app(app: Flask) -> None:
    """Answer CORS for ``/api/`` to the origins in ``CORS_ORIGINS``; none when it is empty."""
    origins = parse_origins(app.config["CORS_ORIGINS"])
    app.extensions[LISTED_KEY] = [origin for origin in origins if isinstance(origin, re.Pattern)]
    if not origins:
        return
    CORS(
        app,
        resources={API_PATHS: {"origins": origins}},
        allow_headers=ALLOWED_HEADERS,
        expose_headers=exposed_headers(app.config),
        supports_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
        always_send=False,  # no Origin, no CORS headers
        vary_header=True,
        allow_private_network=True,  # a listed origin may reach an intranet deployment
    )


def from_listed_origin() -> bool:
    """Whether this request names, in ``Origin``, one of ``CORS_ORIGINS``' other origins.

    The API refuses the login cookie on such a request, even from a browser that sends no
    ``Sec-Fetch-Site``. A listed origin on the app's own host is the app's own page."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    listed = current_app.extensions.get(LISTED_KEY, ())
    if not any(pattern.match(origin) for pattern in listed):
        return False
    return urlsplit(origin).netloc.lower() != request.host.lower()


def parse_origins(setting: str) -> list[str | re.Pattern[str]]:
    """The origins of ``CORS_ORIGINS``: ``"*"``, or exact ``scheme://host[:port]`` matches.

    Each origin is matched exactly (as a compiled pattern, so flask-cors never reads one
    as a regular expression); a path or trailing slash, which no browser's ``Origin``
    has, is refused at start-up rather than silently never matching.
    """
    origins: list[str | re.Pattern[str]] = []
    for entry in (part.strip() for part in setting.split(",")):
        if entry == "*":
            origins.append("*")
        elif entry:
            origins.append(re.compile(re.escape(_checked_origin(entry)) + r"\Z", re.IGNORECASE))
    return origins


def _checked_origin(entry: str) -> str:
    """Return ``entry`` if it is an origin (``http(s)://host[:port]``), else refuse to start."""
    parts = urlsplit(entry)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    origin = f"{parts.scheme}://{parts.netloc}"
    usable = parts.scheme in ("http", "https") and parts.hostname and "@" not in parts.netloc
    if not usable or entry.lower() != origin.lower():
        raise RuntimeError(
            f"CORS_ORIGINS: {entry!r} is not an origin; write scheme://host[:port] with no "
            "path or trailing slash, e.g. https://app.example.com"
        )
    return entry


def exposed_headers(config: dict[str, object]) -> list[str]:
    """The response headers a listed origin's script may read: Retry-After and the
    rate-limit headers, under the names flask-limiter is configured to send."""
    names = (
        (ConfigVars.HEADER_RETRY_AFTER, HeaderNames.RETRY_AFTER),
        (ConfigVars.HEADER_LIMIT, HeaderNames.LIMIT),
        (ConfigVars.HEADER_REMAINING, HeaderNames.REMAINING),
        (ConfigVars.HEADER_RESET, HeaderNames.RESET),
    )
    return [str(config.get(key) or default.value) for key, default in names]
