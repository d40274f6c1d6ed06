"""One JSON error shape for every API failure.

``{"error": "<short title>", "message": "<what to do>", "code": "<MACHINE_CODE>"}``, plus
``"details": [{"field", "message", "code"}]`` for validation. Web pages keep HTML errors.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from chatapp.extensions import db
from chatapp.gemini import ModelError
from chatapp.schemas.common import ErrorBody

log = logging.getLogger(__name__)

# Paths outside /api that answer in JSON: seed 001's endpoints.
JSON_PREFIXES = ("/api/", "/chat", "/history/")
# Pages that share a JSON prefix but are HTML.
HTML_PREFIXES = ("/chat/",)


class ApiError(Exception):
    """An error a client can act on; rendered as the one JSON error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        error: str | None = None,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.error = error or _title(status)
        self.details = details
        self.headers = headers or {}

    def to_response(self) -> Response:
        """Return the JSON response for this error."""
        return error_response(
            self.status, self.code, self.message, self.error, self.details, self.headers
        )


# Recorded on a user's message when a turn failed in a way we did not foresee.
UNEXPECTED = ModelError(500, "INTERNAL_ERROR", "Something went wrong on our side. Try again.")
# Ends a stream whose turn could not be stored because the database became unreachable
# (the same code as the 503 of :func:`handle_database_error`).
DATABASE_DOWN = ModelError(
    503,
    "DATABASE_UNAVAILABLE",
    "The database became unavailable, so this reply could not be saved. Try again shortly.",
)


def api_error(exc: ModelError) -> ApiError:
    """Turn a model failure into the API's error (every feature that calls the model)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return ApiError(exc.status, exc.code, exc.message, headers=headers)


class NotFound(ApiError):
    """A missing object, or one that belongs to someone else (never a 403)."""

    def __init__(self, what: str = "Resource") -> None:
        super().__init__(404, "NOT_FOUND", f"{what} not found.", error=f"{what} not found")


def too_large(limit: int, setting: str) -> ApiError:
    """The 413 for an uploaded file past ``limit`` bytes, the value of config ``setting``."""
    return ApiError(
        413,
        "FILE_TOO_LARGE",
        f"The file is larger than {limit} bytes; split it or ask the operator to raise {setting}.",
    )


def _title(status: int) -> str:
    """Return the standard reason phrase of ``status``."""
    return HTTPStatus(status).phrase


def error_response(
    status: int,
    code: str,
    message: str,
    error: str | None = None,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build a response in the one error shape."""
    body = ErrorBody(error=error or _title(status), message=message, code=code, details=details)
    response = jsonify(body.body())
    response.status_code = status
    response.headers.update(headers or {})
    return response


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    """Turn pydantic errors into ``[{"field", "message", "code"}]``."""
    details = []
    for item in exc.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": field, "message": item["msg"], "code": item["type"]})
    return details


def validation_error(exc: ValidationError) -> ApiError:
    """The 400 for input that failed schema validation, naming each field."""
    details = validation_details(exc)
    fields = ", ".join(d["field"] for d in details)
    return ApiError(
        400,
        "VALIDATION_ERROR",
        f"Check these fields and try again: {fields}.",
        error="Validation failed",
        details=details,
    )


def validation_error_response(exc: ValidationError) -> Response:
    """Render a request that failed schema validation (flask-openapi3 calls this)."""
    return validation_error(exc).to_response()


def wants_json() -> bool:
    """Return whether this request is an API call (JSON errors) rather than a page."""
    path = request.path
    if path.startswith(HTML_PREFIXES) and request.method == "GET":
        return False
    return path.startswith(JSON_PREFIXES) or path in ("/chat", "/api")


def handle_api_error(exc: ApiError) -> Response:
    """Render an :class:`ApiError`."""
    return exc.to_response()


def handle_http_error(exc: HTTPException) -> Response | HTTPException:
    """Render werkzeug's HTTP errors as JSON under the API, keeping their headers."""
    if not wants_json():
        return exc
    status = exc.code or 500
    code = (exc.name or "Error").upper().replace(" ", "_")
    response = error_response(status, code, exc.description or "", error=exc.name)
    original = exc.get_response()
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in original.headers:
            response.headers[header] = original.headers[header]
    return response


def handle_csrf_error(exc: CSRFError) -> Response | tuple[str, int]:
    """A cookie-authenticated write without a valid CSRF token is forbidden."""
    message = "Send the X-CSRFToken header from the page, or authenticate with a Bearer token."
    if wants_json():
        return error_response(403, "CSRF_FAILED", message, error="CSRF check failed")
    return f"{exc.description} Reload the page and try again.", 400


def handle_unexpected(exc: Exception) -> Response | tuple[str, int]:
    """Log an unexpected failure and answer without internals."""
    log.exception("Unhandled error on %s %s", request.method, request.path)
    if wants_json():
        return error_response(
            500, "INTERNAL_ERROR", "Something went wrong on our side. Try again later."
        )
    return "Internal Server Error", 500


def handle_database_error(exc: OperationalError | PoolTimeout) -> Response | tuple[str, int]:
    """The database is down or too busy (no pooled connection came free within
    ``pool_timeout``): nothing was changed; the client may retry."""
    reason = getattr(exc, "orig", None) or exc
    log.error("Database unavailable on %s %s: %s", request.method, request.path, reason)
    db.session.rollback()
    message = "The database is unavailable or busy; nothing was changed. Try again shortly."
    if wants_json():
        return error_response(503, "DATABASE_UNAVAILABLE", message, headers={"Retry-After": "1"})
    return message, 503


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(PoolTimeout, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
