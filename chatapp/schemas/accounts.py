"""The caller's account, settings and API tokens."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from chatapp.schemas.common import MAX_ID, NO_NUL, Out, Strict, Timestamp

if TYPE_CHECKING:
    from chatapp.models import ApiToken


class UserOut(Out):
    """An account, without secrets."""

    id: int
    username: str
    email: str
    is_admin: bool
    created_at: Timestamp
    timezone: str = Field(description="IANA time zone; weeks for insights follow it")


class TokenCreate(Strict):
    """Create a token: a logged-in browser needs only a name; a script sends its password."""

    name: str = Field("token", min_length=1, max_length=100, pattern=NO_NUL)
    username: str | None = Field(None, min_length=1, max_length=255, pattern=NO_NUL)
    password: str | None = Field(None, min_length=1, max_length=1024, pattern=NO_NUL)


class TokenOut(Out):
    """A token's metadata (never the secret)."""

    id: int
    name: str
    prefix: str
    created_at: Timestamp
    last_used_at: Timestamp | None


class TokenCreated(Out):
    """A new token; ``token`` is shown this once and never again."""

    id: int
    name: str
    token: str

    @classmethod
    def of(cls, token: ApiToken, secret: str) -> TokenCreated:
        """A token just created, with its secret."""
        return cls(id=token.id, name=token.name, token=secret)


class TokenList(Out):
    """The caller's live tokens, newest first."""

    tokens: list[TokenOut]
    total: int

    @classmethod
    def of(cls, tokens: list[ApiToken]) -> TokenList:
        """The list of the caller's tokens."""
        return cls(tokens=[TokenOut.model_validate(t) for t in tokens], total=len(tokens))


class TokenPath(BaseModel):
    """A token id in the path."""

    token_id: int = Field(ge=1, le=MAX_ID)


@cache
def _timezone_names() -> frozenset[str]:
    """The IANA zone names this system knows (read from disk once)."""
    return frozenset(available_timezones())


def _check_timezone(name: str) -> str:
    """Accept only IANA time zone names (``Europe/Berlin``, ``UTC``)."""
    if name not in _timezone_names():
        raise PydanticCustomError(
            "timezone", "Unknown time zone; use an IANA name such as Europe/Berlin"
        )
    return name


def _timezone_enum(schema: dict[str, Any]) -> None:
    """List the accepted zone names in the OpenAPI document."""
    schema["enum"] = sorted(_timezone_names())


class MeUpdate(Strict):
    """Settings of the caller's account."""

    timezone: Annotated[
        str,
        Field(
            max_length=64,
            description="An IANA time zone name (Europe/Berlin, UTC); weeks follow it",
            json_schema_extra=_timezone_enum,
        ),
        AfterValidator(_check_timezone),
    ]


class PasswordChange(Strict):
    """A new password: at least 8 characters and not one of the most common passwords."""

    currentPassword: str = Field(min_length=1, max_length=1024, pattern=NO_NUL)
    newPassword: str = Field(min_length=8, max_length=1024, pattern=NO_NUL)


class PasswordChanged(Out):
    """Confirmation of a password change; the browser's other logins have ended."""

    message: str
