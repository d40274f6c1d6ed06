"""The JSON API: health, the caller's account and API tokens.

Authentication for every route not marked :func:`public` happens in :func:`authenticate`:
a ``Bearer`` token, or the browser's login cookie plus a CSRF header on writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request
from flask_login import current_user
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from chatapp import cors, inputs, schemas
from chatapp.auth.views import renew_login
from chatapp.bearer import request_bearer_user
from chatapp.errors import ApiError, file_too_large
from chatapp.extensions import csrf, limiter
from chatapp.ratelimits import login_limit
from chatapp.services import accounts, health

bp = APIBlueprint(
    "api",
    __name__,
    url_prefix="/api",
    abp_security=[{"bearerAuth": []}, {"cookieAuth": []}],
)
# Routes that need no login at all live on their own blueprint, outside bp's checks.
health_bp = APIBlueprint("health", __name__, url_prefix="/api")
F = TypeVar("F", bound=Callable[..., Any])
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
account_tag = Tag(name="account", description="The caller's account and API tokens")
health_tag = Tag(name="health", description="Liveness and readiness")
HEALTH_RESPONSES = {200: schemas.Health, 503: schemas.Health, **schemas.errors(400)}


def public(view: F) -> F:
    """Mark a view as reachable without authentication."""
    view.public = True  # type: ignore[attr-defined]
    return view


def large_body(limit_key: str, *, streamed: bool = False) -> Callable[[F], F]:
    """Mark a view as taking a multipart file (or JSON) up to config ``limit_key`` bytes.

    A ``streamed`` view reads its JSON body itself, as a stream: it is not parsed whole
    (nor checked for NUL characters) before the view runs.
    """

    def mark(view: F) -> F:
        view.body_limit_key = limit_key  # type: ignore[attr-defined]
        view.streams_body = streamed  # type: ignore[attr-defined]
        return view

    return mark


#: Knowledge uploads: a file up to ``UPLOAD_MAX_BYTES``.
accepts_upload = large_body("UPLOAD_MAX_BYTES")
#: Conversation imports: a file or JSON body up to ``IMPORT_MAX_BYTES``, read as a stream.
accepts_import = large_body("IMPORT_MAX_BYTES", streamed=True)


def uploaded_file() -> FileStorage:
    """The multipart ``file`` of this upload, or 400 without one."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Send the file in a multipart field named 'file'.",
            error="Validation failed",
            details=[{"field": "file", "message": "Field required", "code": "missing"}],
        )
    return upload


def upload_body(
    file: dict[str, Any],
    fields: dict[str, Any] | None = None,
    encoding: dict[str, Any] | None = None,
    json: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI request body of a route reading its own upload: a multipart ``file`` (with
    other form ``fields`` and their ``encoding``), or, when given, the ``json`` schema."""
    form = {"type": "object", "required": ["file"], "properties": {"file": file, **(fields or {})}}
    multipart: dict[str, Any] = {"schema": form}
    if encoding:
        multipart["encoding"] = encoding
    content = {"multipart/form-data": multipart}
    if json is not None:
        content["application/json"] = {"schema": json}
    return {"requestBody": {"required": True, "content": content}}


# Room for the multipart framing and form fields around an upload's file.
UPLOAD_FRAMING_BYTES = 64 * 1024


@bp.before_request
def reject_malformed_json() -> None:
    """Check a write's body (JSON object, size, no NUL characters) before anything else.

    Views marked by :func:`large_body` take multipart bodies too, under their own size
    limit; every other route keeps the global ``MAX_CONTENT_LENGTH``.
    """
    view = bp_view()
    limit_key = getattr(view, "body_limit_key", None)
    if limit_key is not None:
        request.max_content_length = current_app.config[limit_key] + UPLOAD_FRAMING_BYTES
    if request.method not in UNSAFE_METHODS or getattr(view, "streams_body", False):
        return
    if limit_key is not None and request.mimetype == "multipart/form-data":
        try:
            inputs.check_form_fields()  # reads the form: past the limit, werkzeug's 413
        except RequestEntityTooLarge:
            raise file_too_large(current_app.config[limit_key], limit_key) from None
        return
    inputs.check_json_body()


@bp.before_request
def authenticate() -> None:
    """Authenticate every request except those to views marked :func:`public` and
    ``OPTIONS``: a CORS preflight never carries credentials, and Flask answers it from the
    route table without calling the view."""
    if request.method != "OPTIONS" and not getattr(bp_view(), "public", False):
        require_user()


def require_user() -> None:
    """Set ``g.user`` from a Bearer token or the login cookie, or answer 401."""
    if request.headers.get("Authorization") is not None:
        g.user = _bearer_user()
        g.auth = "token"
        return
    if not current_user.is_authenticated:
        raise ApiError(
            401,
            "AUTH_REQUIRED",
            "Send 'Authorization: Bearer <token>', or log in in the browser.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    refuse_cross_site()
    if request.method in UNSAFE_METHODS:
        csrf.protect()
    g.user = current_user._get_current_object()
    g.auth = "cookie"


# Sec-Fetch-Site values of requests the app's own pages make, or the person typed.
OWN_FETCHES = ("same-origin", "none")


def refuse_cross_site() -> None:
    """Refuse a cookie-authenticated request another site started (a link, a form, a
    script), even a GET: some GETs create data (``/chat/weekly-insights/stream`` saves an
    insight). Browsers send ``Sec-Fetch-Site``; a Bearer token is never sent by a browser
    on its own, so token requests are not checked. A page of a ``CORS_ORIGINS`` origin is
    refused the cookie too, also by a browser that sends no ``Sec-Fetch-Site``.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if (site is not None and site not in OWN_FETCHES) or cors.from_listed_origin():
        raise ApiError(
            403,
            "CROSS_SITE_REQUEST",
            "This request came from another site; open chatapp itself and try again.",
            error="Cross-site request refused",
        )


def bp_view() -> Callable[..., Any] | None:
    """Return the view function this request is routed to."""
    return current_app.view_functions.get(request.endpoint or "")


def _bearer_user() -> Any:
    """Resolve ``Authorization: Bearer <token>`` to its user, or raise 401."""
    user = request_bearer_user()
    if user is None:
        raise ApiError(
            401,
            "INVALID_TOKEN",
            "The token is missing, malformed, revoked or unknown; create a new one.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


@health_bp.get("/health", tags=[health_tag], responses=HEALTH_RESPONSES)
@limiter.exempt
def health_check() -> tuple[Response, int]:
    """Report whether the database (and Redis, when configured) answer; 503 without a database."""
    report = health.check()
    return jsonify(schemas.Health.model_validate(report).body()), report.status_code


@health_bp.get("/v1/health", tags=[health_tag], responses=HEALTH_RESPONSES)
@limiter.exempt
def health_check_v1() -> tuple[Response, int]:
    """Report whether the database (and Redis, when configured) answer; 503 without a database."""
    return health_check()


@health_bp.get("/health/live", tags=[health_tag], responses={200: schemas.Liveness})
@limiter.exempt
def liveness() -> dict[str, Any]:
    """Liveness probe: the process answers. Checks nothing else (no database, no Redis),
    so an outage elsewhere never gets a healthy process restarted."""
    return schemas.Liveness(status="ok").body()


@health_bp.get(
    "/health/ready",
    tags=[health_tag],
    responses={200: schemas.Readiness, 503: schemas.Readiness, **schemas.errors(400)},
)
@limiter.exempt
def readiness() -> tuple[Response, int]:
    """Readiness probe: 200 when the database answers and is migrated to (at least) this
    release's schema, "degraded" if only Redis is down; 503 otherwise."""
    report = health.check(migrations=True)
    return jsonify(schemas.Readiness.model_validate(report).body()), report.status_code


@bp.get(
    "/v1/me",
    tags=[account_tag],
    responses={200: schemas.UserOut, **schemas.AUTHED_ERRORS},
)
def me() -> dict[str, Any]:
    """Return the authenticated account."""
    return schemas.UserOut.model_validate(g.user).body()


@bp.patch(
    "/v1/me",
    tags=[account_tag],
    responses={200: schemas.UserOut, **schemas.BODY_ERRORS},
)
def update_me(body: schemas.MeUpdate) -> dict[str, Any]:
    """Change the caller's settings: ``timezone`` (an IANA name; weeks follow it)."""
    return schemas.UserOut.model_validate(accounts.update_settings(g.user, body.timezone)).body()


@bp.post(
    "/v1/me/password",
    tags=[account_tag],
    responses={200: schemas.PasswordChanged, **schemas.BODY_ERRORS},
)
@login_limit
def change_password(body: schemas.PasswordChange) -> dict[str, Any]:
    """Change the caller's password (the current one is needed too).

    Every browser logged in to the account is logged out, except this one when the
    request came from it; API tokens keep working. A wrong current password counts
    towards the failed-login limit.
    """
    user = accounts.change_password(g.user, body.currentPassword, body.newPassword)
    if g.auth == "cookie":
        renew_login(user)
    return schemas.PasswordChanged(
        message="Password changed; your other browsers have been logged out."
    ).body()


@bp.post(
    "/v1/auth/tokens",
    tags=[account_tag],
    security=[{}],  # or a password in the body
    responses={201: schemas.TokenCreated, **schemas.BODY_ERRORS},
)
@public
@login_limit
def create_token(body: schemas.TokenCreate) -> tuple[dict[str, Any], int]:
    """Create a personal API token; the secret is in this response only.

    A script authenticates with ``username`` and ``password`` in the body; a logged-in
    browser (with its CSRF header) or an existing token needs only ``name``.
    """
    user = _token_creator(body)
    token, secret = accounts.create_token(user, body.name)
    return schemas.TokenCreated.of(token, secret).body(), 201


def _token_creator(body: schemas.TokenCreate) -> Any:
    """Return who is creating a token: by password in the body, else as authenticated."""
    if body.username is not None or body.password is not None:
        user = accounts.authenticate(body.username or "", body.password or "")
        if user is None:
            raise ApiError(401, "INVALID_CREDENTIALS", "Check the username and password.")
        return user
    require_user()
    return g.user


@bp.get(
    "/v1/auth/tokens",
    tags=[account_tag],
    responses={200: schemas.TokenList, **schemas.AUTHED_ERRORS},
)
def list_tokens() -> dict[str, Any]:
    """List the caller's live tokens (never their secrets)."""
    return schemas.TokenList.of(accounts.list_tokens(g.user)).body()


@bp.delete(
    "/v1/auth/tokens/<id:token_id>",
    tags=[account_tag],
    responses={200: schemas.Deleted, **schemas.errors(404), **schemas.BODY_ERRORS},
)
def revoke_token(path: schemas.TokenPath) -> dict[str, Any]:
    """Revoke one of the caller's tokens; it stops working at once."""
    token = accounts.revoke_token(g.user, path.token_id)
    return schemas.Deleted(message="Token revoked", id=token.id).body()
