"""Password rules (NIST SP 800-63B): long enough, and not one of the most common passwords.

The common passwords are the 30,000 most frequent ones in leaked password sets, as shipped
by the ``zxcvbn`` package (its ``passwords`` frequency list); they are compared without
regard to case. No composition rules (digits, symbols) and no expiry, as NIST advises.
"""

from __future__ import annotations

from functools import cache

from zxcvbn.frequency_lists import FREQUENCY_LISTS

from chatapp.errors import ApiError

MIN_LENGTH = 8
MAX_LENGTH = 1024


@cache
def _common() -> frozenset[str]:
    """The common passwords, lower-cased (built once per process)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str) -> tuple[str, str] | None:
    """Return ``(code, message)`` for a password these rules refuse, else None."""
    if len(password) < MIN_LENGTH:
        return "password_too_short", f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return "password_too_long", f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common():
        return "password_common", "This password is one of the most common; choose another."
    return None


def check(password: str, field: str = "password") -> None:
    """Raise a 400 ``VALIDATION_ERROR`` naming ``field`` if the password is refused."""
    found = problem(password)
    if found is None:
        return
    code, message = found
    raise ApiError(
        400,
        "VALIDATION_ERROR",
        message,
        error="Validation failed",
        details=[{"field": field, "message": message, "code": code}],
    )
