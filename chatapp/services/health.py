"""Readiness: does the database answer, and Redis when one is configured?"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import redis
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chatapp.extensions import db
from chatapp.models import utcnow

log = logging.getLogger(__name__)
REDIS_TIMEOUT = 1.0  # seconds; a health check must answer quickly


@dataclass(frozen=True)
class Report:
    """What answered: ``redis`` is None when no Redis is configured."""

    timestamp: datetime
    database: str
    redis: str | None

    @property
    def status(self) -> str:
        """ "ok" when everything answers, "degraded" when only Redis is down (rate limits
        then count per process), "error" when the database is down."""
        if self.database != "ok":
            return "error"
        return "degraded" if self.redis not in (None, "ok") else "ok"

    @property
    def status_code(self) -> int:
        """503 without a database (a load balancer stops sending requests), else 200."""
        return 503 if self.status == "error" else 200


def check() -> Report:
    """Ask the database, and Redis when one is configured, whether they answer."""
    timestamp, database = utcnow(), _database()
    redis_state = _redis() if current_app.config["REDIS_URL"] else None
    return Report(timestamp=timestamp, database=database, redis=redis_state)


def _database() -> str:
    """Return "ok" if a trivial query succeeds."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("Health check: the database did not answer")
        db.session.rollback()
        return "error"
    return "ok"


def _redis() -> str:
    """Return "ok" if Redis answers a PING."""
    try:
        _redis_client().ping()
    except redis.RedisError as exc:
        log.warning("Health check: Redis did not answer: %s", exc)
        return "error"
    return "ok"


def _redis_client() -> redis.Redis:
    """Return this app's Redis client for health checks (one connection pool per app)."""
    extensions = current_app.extensions
    if "chatapp.health_redis" not in extensions:
        extensions["chatapp.health_redis"] = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
        )
    return extensions["chatapp.health_redis"]
