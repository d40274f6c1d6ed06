"""What every route shares: strict request bodies, response bodies, the error shape,
deletions, health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

# The largest id a table can hold (PostgreSQL ``integer``): a larger path id is a 404, a
# larger paging value a 400 naming it.
MAX_ID = 2**31 - 1


# Patterns of request text (the API refuses NUL characters everywhere, see chatapp.inputs);
# they are written for Python, Rust (pydantic) and ECMA (JSON Schema) regexes alike.
NO_NUL = r"^[^\x00]*$"
#: ...and at least one character that is not whitespace.
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


def integral(value: Any) -> Any:
    """Take ``1.0`` as the integer 1, as JSON Schema's ``integer`` does (never a boolean)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a strict JSON body: ``35.0`` is the integer 35, as JSON Schema says.
# (Constraints go before the validator: ``Annotated[int, Field(le=9), BeforeValidator(...)]``
# documents them as ``maximum``; after it, pydantic cannot.)
JsonInt = Annotated[int, BeforeValidator(integral)]


class Strict(BaseModel):
    """A request body: unknown fields are rejected, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _isoformat(value: datetime) -> str:
    """A timestamp as the API has always sent it (``+00:00``, not pydantic's ``Z``)."""
    return value.isoformat()


# A point in time in a response: ISO 8601 from ``datetime.isoformat``, documented as date-time.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Out(BaseModel):
    """A response body: the one place its shape is declared and built.

    A view returns ``SomeOut.of(...).body()`` (or ``SomeOut(...).body()``); the OpenAPI
    document is generated from the same class, and a test holds every response to it.
    Keys named in ``omit_if_none`` are left out while their value is None.
    """

    model_config = ConfigDict(from_attributes=True)
    omit_if_none: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_object(cls, obj: object, **computed: Any) -> Self:
        """Build from ``obj``'s attributes of the same names; ``computed`` gives the rest."""
        named = {
            name: getattr(obj, name)
            for name in cls.model_fields
            if name not in computed and hasattr(obj, name)
        }
        return cls(**named, **computed)

    def body(self) -> dict[str, Any]:
        """This response as JSON-ready data."""
        data = self.model_dump(mode="json")
        for key in self.omit_if_none:
            if data.get(key) is None:
                data.pop(key, None)
        return data


def sse_documented(name: str) -> ConfigDict:
    """The config of a stream's event model: its 200 is ``text/event-stream``, one
    ``data:`` line per event of this shape."""
    reference = {"$ref": f"#/components/schemas/{name}"}
    return ConfigDict(openapi_extra={"content": {"text/event-stream": {"schema": reference}}})  # type: ignore[typeddict-unknown-key]


class ErrorDetail(BaseModel):
    """One field that failed validation."""

    field: str
    message: str
    code: str


class ErrorBody(Out):
    """The one error shape of the API."""

    omit_if_none = ("details",)

    error: str = Field(description="Short title")
    message: str = Field(description="What to do about it")
    code: str = Field(description="Stable machine-readable code")
    details: list[ErrorDetail] | None = None


def errors(*statuses: int) -> dict[int, type[BaseModel]]:
    """Return the ``responses`` entries for the given error statuses."""
    return dict.fromkeys(statuses, ErrorBody)


# Errors every authenticated route can return. flask-openapi3 documents a 400 on every
# operation that does not name one, as a list of its own validation model; ours is always
# the error shape, so every operation names it.
AUTHED_ERRORS = errors(400, 401, 403, 429, 500)
# ...and those of every write, which may carry a body (JSON, or refused with 413/415).
BODY_ERRORS = errors(400, 401, 403, 413, 415, 429, 500)


class Health(Out):
    """Service health."""

    omit_if_none = ("redis",)

    status: Literal["ok", "degraded", "error"]
    timestamp: Timestamp
    database: Literal["ok", "error"]
    redis: Literal["ok", "error"] | None = None  # only when REDIS_URL is set


class Readiness(Health):
    """Whether this process should get traffic: the database answers and holds the schema
    this code needs (``migrations``: "ok" at its revision, "newer" migrated by a newer
    release, "behind" or "missing" not yet migrated, "unknown" when the database is down)."""

    migrations: Literal["ok", "newer", "behind", "missing", "unknown"]


class Liveness(Out):
    """The process answers requests (nothing else is checked)."""

    status: Literal["ok"]


class Deleted(Out):
    """Confirmation of a deletion."""

    message: str
    id: int | str


class Success(Out):
    """Seed 003's confirmation of a deletion."""

    success: bool
    message: str
