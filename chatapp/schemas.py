"""Request and response bodies, declared once.

The same pydantic models validate requests (through flask-openapi3) and generate the
OpenAPI document served at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A request body: unknown fields are rejected, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorDetail(BaseModel):
    """One field that failed validation."""

    field: str
    message: str
    code: str


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: str = Field(description="Short title")
    message: str = Field(description="What to do about it")
    code: str = Field(description="Stable machine-readable code")
    details: list[ErrorDetail] | None = None


def errors(*statuses: int) -> dict[int, type[BaseModel]]:
    """Return the ``responses`` entries for the given error statuses."""
    return dict.fromkeys(statuses, ErrorBody)


# Errors every authenticated route can return.
AUTHED_ERRORS = errors(401, 403, 429, 500)
# ...and those with a JSON body.
BODY_ERRORS = errors(400, 401, 403, 413, 429, 500)


class Health(BaseModel):
    """Service health."""

    status: Literal["ok", "error"]
    timestamp: datetime
    database: Literal["ok", "error"]


class UserOut(BaseModel):
    """An account, without secrets."""

    id: int
    username: str
    email: str
    is_admin: bool
    created_at: datetime


class TokenCreate(Strict):
    """Create a token: a logged-in browser needs only a name; a script sends its password."""

    name: str = Field("token", min_length=1, max_length=100)
    username: str | None = Field(None, min_length=1, max_length=255)
    password: str | None = Field(None, min_length=1, max_length=1024)


class TokenOut(BaseModel):
    """A token's metadata (never the secret)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(BaseModel):
    """A new token; ``token`` is shown this once and never again."""

    id: int
    name: str
    token: str


class TokenList(BaseModel):
    """The caller's live tokens, newest first."""

    tokens: list[TokenOut]
    total: int


class TokenPath(BaseModel):
    """A token id in the path."""

    token_id: int


class Deleted(BaseModel):
    """Confirmation of a deletion."""

    message: str
    id: int | str
