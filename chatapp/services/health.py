"""Readiness: does the database answer, and Redis when one is configured?"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from chatapp.extensions import db
from chatapp.models import utcnow

log = logging.getLogger(__name__)
REDIS_TIMEOUT = 1.0  # seconds; a health check must answer quickly


def check() -> dict[str, Any]:
    """Return the health report.

    ``status`` is "ok" when everything answers, "degraded" when only Redis is down (rate
    limits then count per process) and "error" when the database is down.
    """
    report: dict[str, Any] = {"timestamp": utcnow().isoformat(), "database": _database()}
    if current_app.config["REDIS_URL"]:
        report["redis"] = _redis()
    if report["database"] != "ok":
        report["status"] = "error"
    elif report.get("redis", "ok") != "ok":
        report["status"] = "degraded"
    else:
        report["status"] = "ok"
    return report


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
