"""Security headers on the HTML pages: a Content-Security-Policy with no inline script."""

from __future__ import annotations

from flask import Response, request

# Everything the pages load is served by the app itself; inline script and style are refused.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The API's Swagger UI page (flask-openapi3's plugin) brings its own inline bootstrap script.
EXEMPT_PREFIXES = ("/api/",)


def add_security_headers(response: Response) -> Response:
    """Add the CSP and related headers to every HTML response outside the API docs."""
    if response.mimetype != "text/html" or request.path.startswith(EXEMPT_PREFIXES):
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
