"""Accounts and personal API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from chatapp.errors import ApiError, NotFound
from chatapp.extensions import db
from chatapp.models import ApiToken, User, utcnow
from chatapp.schemas.common import MAX_ID
from chatapp.services import passwords

TOKEN_PREFIX = "chat_"
# last_used_at is refreshed at most this often, so reads do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(ApiError):
    """A registration or login problem the person can fix."""


def create_user(
    username: str, email: str, password: str, *, is_admin: bool = False, password_hash: str = ""
) -> User:
    """Create an account; 409 ``USERNAME_TAKEN`` / ``EMAIL_TAKEN`` if either is in use, 400
    for a password :mod:`chatapp.services.passwords` refuses (unless already hashed)."""
    if not password_hash:
        passwords.check(password)
    username, email = username.strip(), email.strip().lower()
    taken = db.session.scalars(
        select(User).where(or_(func.lower(User.username) == username.lower(), User.email == email))
    ).first()
    if taken is not None:
        raise _taken("username" if taken.username.lower() == username.lower() else "email")
    user = User(username=username, email=email, is_admin=is_admin)
    if password_hash:
        user.password_hash = password_hash
    else:
        user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # a concurrent registration won the race
        db.session.rollback()
        raise _taken("username or email") from exc
    return user


def _taken(field: str) -> AccountError:
    """Return the 409 for a username or email already in use."""
    code = "USERNAME_TAKEN" if field == "username" else "EMAIL_TAKEN"
    return AccountError(
        409,
        code,
        f"That {field} is already registered; choose another or log in.",
        error="Already registered",
    )


def find_user(name: str) -> User | None:
    """Return the user with this username or email (case-insensitive), or None."""
    name = name.strip().lower()
    return db.session.scalars(
        select(User).where(or_(func.lower(User.username) == name, User.email == name))
    ).first()


def authenticate(name: str, password: str) -> User | None:
    """Return the user if ``password`` is right for username-or-email ``name``.

    An unknown name costs the same hashing as a wrong password, so the time taken does not
    tell whether an account exists.
    """
    user = find_user(name)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


@cache
def _dummy_hash() -> str:
    """A hash of a random password, made like every stored one (once per process)."""
    return generate_password_hash(secrets.token_hex(16))


def user_for_login(login_id: str) -> User | None:
    """Return the user a login (session or remember cookie) names, if it is still current.

    ``login_id`` is :meth:`User.get_id`'s ``id:version``; a login made before the account's
    password changed or it logged out carries an older version and is refused.
    """
    user_id, _, version = login_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or int(user_id) > MAX_ID:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def end_logins(user: User) -> None:
    """End every browser login of ``user`` (sessions and remember cookies); tokens stay."""
    user.session_version = (user.session_version or 0) + 1
    db.session.commit()


def change_password(user: User, current: str, new: str) -> User:
    """Set a new password after checking the current one; every browser login ends.

    403 ``WRONG_PASSWORD`` for a wrong current password (it counts as a failed login),
    400 ``VALIDATION_ERROR`` for a new password the rules refuse. API tokens stay valid.
    """
    if not user.check_password(current):
        raise AccountError(
            403,
            "WRONG_PASSWORD",
            "The current password is wrong.",
            details=[
                {"field": "currentPassword", "message": "Wrong password", "code": "WRONG_PASSWORD"}
            ],
        )
    passwords.check(new, "newPassword")
    user.set_password(new)
    end_logins(user)
    return user


def hash_token(token: str) -> str:
    """Return the stored form of a token: tokens are random, so SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with its secret, which is never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name.strip() or "token", token_hash=hash_token(secret), prefix=secret[:12]
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_tokens(user: User) -> list[ApiToken]:
    """Return the user's live tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens; another user's token is a 404."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound("Token")
    token.revoked_at = utcnow()
    db.session.commit()
    return token


def user_for_bearer(header: str) -> User | None:
    """Return the owner of the token in an ``Authorization: Bearer <token>`` value, if live."""
    scheme, _, secret = header.partition(" ")
    return user_for_token(secret.strip()) if scheme.lower() == "bearer" else None


def user_for_token(secret: str) -> User | None:
    """Return the owner of a live token, noting when it was last used."""
    token = db.session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if token is None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return token.user


def update_settings(user: User, timezone: str) -> User:
    """Change the user's settings (the time zone, already validated)."""
    user.timezone = timezone
    db.session.commit()
    return user
