"""Readiness: does the database answer?"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chatapp.extensions import db
from chatapp.models import utcnow

log = logging.getLogger(__name__)


def check() -> dict[str, Any]:
    """Return the health report: ``status`` is ok only when every dependency answers."""
    database = _database()
    return {
        "status": "ok" if database == "ok" else "error",
        "timestamp": utcnow().isoformat(),
        "database": database,
    }


def _database() -> str:
    """Return "ok" if a trivial query succeeds."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("Health check: the database did not answer")
        db.session.rollback()
        return "error"
    return "ok"
