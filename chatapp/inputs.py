"""Checks on everything a request brings in, before any view reads it.

One rule for both databases: text containing a NUL character (``\\x00``) is refused.
PostgreSQL cannot store it in a text column, and no person types it; refusing it everywhere
(a 400 naming the field, ``code`` ``NUL_CHARACTER`` in ``details``) means SQLite and
PostgreSQL behave alike and nothing is half-written. Query strings and path values are
checked for every request here; JSON bodies by :func:`check_json_body` (the API's first
hook); HTML forms by :class:`chatapp.auth.forms.Form`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from chatapp.errors import ApiError, NotFound

NUL = "\x00"
NUL_MESSAGE = "Text must not contain NUL characters (\\u0000)"


def nul_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Yield the dotted path of every string (or key) in parsed JSON that contains a NUL.

    Iterative, so a deeply nested body cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                yield path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if NUL in key:
                    yield child_path
                else:
                    stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), child)
                for index, child in enumerate(item)
            )


def nul_error(fields: list[str]) -> ApiError:
    """The 400 for text with NUL characters, naming each field."""
    return ApiError(
        400,
        "VALIDATION_ERROR",
        f"Check these fields and try again: {', '.join(fields)}.",
        error="Validation failed",
        details=[{"field": f, "message": NUL_MESSAGE, "code": "NUL_CHARACTER"} for f in fields],
    )


def has_body() -> bool:
    """Whether the request sends a body: a Content-Length, or chunked transfer encoding."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return bool(request.content_length) or chunked


def _read_body() -> None:
    """Read the body, answering 413 past ``MAX_CONTENT_LENGTH`` also for a chunked one."""
    data = request.get_data(cache=True)  # a Content-Length past the limit raises the 413
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # werkzeug cut the chunked stream at the limit; the next read raises the 413
        request.stream.read(1)


def check_json_body() -> None:
    """Refuse a body that is not a JSON object (415, 400 ``MALFORMED_JSON``, 400
    ``VALIDATION_ERROR``), too large (413, chunked too), or holds NUL characters."""
    if not has_body():
        return
    if not request.is_json:
        raise ApiError(
            415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON (Content-Type: application/json)."
        )
    _read_body()
    try:
        data = request.get_json()
    except (BadRequest, RecursionError):  # RecursionError: nested thousands of levels deep
        raise ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Send the body as a JSON object ({...}).",
            error="Validation failed",
            details=[{"field": "body", "message": "Expected a JSON object", "code": "model_type"}],
        )
    fields = sorted(set(nul_paths(data)))
    if fields:
        raise nul_error(fields)


def check_form_fields(names: tuple[str, ...] = ("title", "url")) -> None:
    """Refuse NUL characters in the form fields an upload reads (its title and URL); other
    fields are ignored, as they are by the upload."""
    fields = sorted({key for key in names if NUL in request.form.get(key, "")})
    if fields:
        raise nul_error(fields)


def reject_nul_in_url() -> None:
    """A NUL in a path value is a 404 (no such object); in a query value, a 400 naming it."""
    if any(NUL in str(value) for value in (request.view_args or {}).values()):
        raise NotFound()
    fields = sorted({key for key, value in request.args.items(multi=True) if NUL in key + value})
    if fields:
        raise nul_error(fields)


def init_app(app: Flask) -> None:
    """Check every request's URL before anything else reads it."""
    app.before_request(reject_nul_in_url)
