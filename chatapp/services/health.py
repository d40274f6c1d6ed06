"""Health and readiness: does the database answer (with the schema this code needs), and
Redis when one is configured?

Readiness compares the database's applied Alembic revisions with the migrations shipped in
this release. At our head: ready. A revision we do not know: a newer release has migrated
the database during a rolling deploy; we count that as ready, on the rule that a release's
migrations keep the previous release working (they add, and drop only what it no longer
uses). An older revision we know, or none at all: not migrated yet, not ready.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

import redis
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from chatapp.database import MIGRATIONS
from chatapp.extensions import db
from chatapp.models import utcnow

log = logging.getLogger(__name__)
VERSION_TABLE = "alembic_version"  # where Alembic records the applied revisions
REDIS_TIMEOUT = 1.0  # seconds; a health check must answer quickly


@dataclass(frozen=True)
class Report:
    """What answered: ``redis`` is None when no Redis is configured, ``migrations`` when
    the schema was not asked about."""

    timestamp: datetime
    database: str
    redis: str | None
    migrations: str | None = None

    @property
    def status(self) -> str:
        """ "ok" when everything answers, "degraded" when only Redis is down (rate limits
        then count per process), "error" when the database is down or not migrated."""
        if self.database != "ok" or self.migrations not in SERVABLE_SCHEMAS:
            return "error"
        return "degraded" if self.redis not in (None, "ok") else "ok"

    @property
    def status_code(self) -> int:
        """503 without a database (a load balancer stops sending requests), else 200."""
        return 503 if self.status == "error" else 200


# Schema states this code serves (None: not asked).
SERVABLE_SCHEMAS = (None, "ok", "newer")


def check(migrations: bool = False) -> Report:
    """Ask the database, and Redis when one is configured, whether they answer; with
    ``migrations``, also whether the database holds the schema this code needs."""
    timestamp, database = utcnow(), _database()
    schema = None
    if migrations:
        schema = _migrations() if database == "ok" else "unknown"
    redis_state = _redis() if current_app.config["REDIS_URL"] else None
    return Report(timestamp=timestamp, database=database, redis=redis_state, migrations=schema)


@dataclass(frozen=True)
class Revisions:
    """The migrations shipped with this code: their heads, and every revision id."""

    heads: frozenset[str]
    known: frozenset[str]


@functools.cache
def shipped_revisions() -> Revisions:
    """Read the migrations folder once per process (it changes only with a new release)."""
    script = ScriptDirectory(str(MIGRATIONS))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return Revisions(heads=frozenset(script.get_heads()), known=known)


def schema_state(applied: frozenset[str]) -> str:
    """Compare the database's applied revisions with ours: "ok", "newer", "behind", "missing"."""
    shipped = shipped_revisions()
    if not applied:
        return "missing"
    if shipped.heads <= applied:
        return "ok"
    return "newer" if applied - shipped.known else "behind"


def _migrations() -> str:
    """The database's schema state (see :func:`schema_state`), "unknown" if it cannot be read."""
    try:
        applied = _applied_revisions()
    except SQLAlchemyError:
        log.exception("Readiness: the applied migrations could not be read")
        db.session.rollback()
        return "unknown"
    state = schema_state(applied)
    if state not in SERVABLE_SCHEMAS:
        log.warning(
            "Not ready: the database is at %s, this code needs %s; run flask init-db",
            sorted(applied) or "no revision",
            sorted(shipped_revisions().heads),
        )
    return state


def _applied_revisions() -> frozenset[str]:
    """The revisions recorded in ``alembic_version`` (none before the first migration).

    Read directly rather than through Alembic's MigrationContext, which logs at INFO on
    every probe."""
    connection = db.session.connection()
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(rows.scalars())


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
