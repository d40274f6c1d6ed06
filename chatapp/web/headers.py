"""Security headers on every HTML response: a Content-Security-Policy with no inline script.

The app's own pages get :data:`CONTENT_SECURITY_POLICY`. The API's documentation pages
(flask-openapi3's Swagger UI under ``/api/``) carry inline ``<script>`` and an ``onclick``
handler we do not write; they get the same policy plus the SHA-256 hash of each of those,
computed from the page as served, so no other inline script can run. Swagger UI's own
script also adds ``<style>`` elements at run time, so those pages allow inline style
(which cannot run script); checked in Chromium by ``tests/web/test_headers.py``.
"""

from __future__ import annotations

import hashlib
import html
import re
from base64 import b64encode

from flask import Response, request

# Everything the pages load is served by the app itself; inline script and style are refused.
DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",  # blob: the composer's thumbnails of picked images
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in DIRECTIVES.items())
# HTML under these prefixes is the API's documentation, written by flask-openapi3.
DOCS_PREFIXES = ("/api/",)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+=\"([^\"]*)\"", re.I)


def _hashes(sources: list[str]) -> str:
    """Return the CSP hash sources (``'sha256-…'``) of inline code, in order, once each."""
    digests = (b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in sources)
    return " ".join(dict.fromkeys(f"'sha256-{digest}'" for digest in digests))


def docs_policy(page: str) -> str:
    """The page policy, allowing exactly the inline scripts and handlers of ``page``."""
    directives = dict(DIRECTIVES)
    scripts = _hashes(INLINE_SCRIPT.findall(page))
    handlers = _hashes([html.unescape(h) for h in EVENT_HANDLER.findall(page)])
    if handlers:  # CSP level 3: a hash may allow an event-handler attribute only with this
        scripts = f"'unsafe-hashes' {handlers} {scripts}".strip()
    directives["script-src"] = f"'self' {scripts}".strip()
    directives["style-src"] = "'self' 'unsafe-inline'"  # Swagger UI injects <style> itself
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def add_security_headers(response: Response) -> Response:
    """Add the CSP and related headers to every HTML response."""
    if response.mimetype != "text/html":
        return response
    policy = CONTENT_SECURITY_POLICY
    if request.path.startswith(DOCS_PREFIXES) and not response.is_streamed:
        policy = docs_policy(response.get_data(as_text=True))
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
