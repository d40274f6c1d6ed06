"""The request's ``Authorization: Bearer`` token, resolved to its user once per request.

This is the request-reading half of token authentication; :mod:`chatapp.services.accounts`
holds the rules (hashing, lookup, last use) and never sees the request. Both the API's
authentication and the anonymous rate limit ask here.
"""

from __future__ import annotations

from flask import request

from chatapp.models import User
from chatapp.services import accounts

# Kept in the request's environ, not ``g``: an app context (and its ``g``) can outlive a
# request while a streamed response is read, and another request may then reuse it.
BEARER_KEY = "chatapp.bearer_user"


def request_bearer_user() -> User | None:
    """The owner of this request's ``Authorization: Bearer`` token, looked up once per
    request (the anonymous rate limit and authentication both ask)."""
    if BEARER_KEY not in request.environ:
        header = request.headers.get("Authorization")
        user = accounts.user_for_bearer(header) if header is not None else None
        request.environ[BEARER_KEY] = user
    return request.environ[BEARER_KEY]
