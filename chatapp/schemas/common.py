"""What every route shares: strict request bodies, the error shape, deletions, health."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The largest id a table can hold (PostgreSQL ``integer``): a larger path id is a 404, a
# larger paging value a 400 naming it.
MAX_ID = 2**31 - 1


# Patterns of request text (the API refuses NUL characters everywhere, see chatapp.inputs);
# they are written for Python, Rust (pydantic) and ECMA (JSON Schema) regexes alike.
NO_NUL = r"^[^\x00]*$"
#: ...and at least one character that is not whitespace.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


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

    status: Literal["ok", "degraded", "error"]
    timestamp: datetime
    database: Literal["ok", "error"]
    redis: Literal["ok", "error"] | None = None  # only when REDIS_URL is set


class Deleted(BaseModel):
    """Confirmation of a deletion."""

    message: str
    id: int | str


class Success(BaseModel):
    """Seed 003's confirmation of a deletion."""

    success: bool
    message: str
