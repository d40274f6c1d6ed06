"""The weekly batch: generate missing weekly insights for many users (a cron job).

Users without conversations that week are skipped without a model call; one user's failure
is recorded and the batch goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from chatapp.errors import ApiError
from chatapp.extensions import db
from chatapp.models import User
from chatapp.services import accounts
from chatapp.services.insights import weekly

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What a batch did, by username."""

    generated: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # no conversations that week
    failed: list[tuple[str, str]] = field(default_factory=list)  # (username, reason)

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"Generated {len(self.generated)}, already there {len(self.existing)}, "
            f"skipped {len(self.skipped)} (no conversations), failed {len(self.failed)}."
        )


def user_ids(username: str | None) -> list[int]:
    """Return the one named user's id, or every user's id when ``username`` is None."""
    if username is None:
        return list(db.session.scalars(select(User.id).order_by(User.id)))
    user = accounts.find_user(username)
    if user is None:
        raise LookupError(f"No user named {username!r}.")
    return [user.id]


def run_one(user_id: int, day: date | None, report: Report) -> None:
    """Generate one user's missing insight for the week containing ``day``; record it."""
    user = db.session.get(User, user_id)
    if user is None:  # deleted while the batch ran
        return
    name = user.username
    try:
        outcome = weekly.generate(user, day)
    except ApiError as exc:
        db.session.rollback()
        report.failed.append((name, f"{exc.code}: {exc.message}"))
        return
    except Exception:  # one user's failure must not stop the batch; the log has details
        log.exception("Weekly insight for %s failed", name)
        db.session.rollback()
        report.failed.append((name, "unexpected error; see the server log"))
        return
    if outcome.is_existing:
        report.existing.append(name)
    elif outcome.insight is None:
        report.skipped.append(name)
    else:
        report.generated.append(name)
