"""Stopping a reply in progress, from any worker or host; keeping running turns' leases.

A stop request is a row update (``chat_sessions.stop_requested``), so it reaches whichever
process holds the stream. Each process runs one watcher thread that, while it has streams
open, asks the database every ``STREAM_STOP_POLL`` seconds — one query for all of them —
which were asked to stop, and interrupts their pipes. A stop that lands on the process
holding the stream interrupts it at once.

The same thread renews the lease of every turn the process runs (streamed or not), one
``UPDATE`` every third of ``CHAT_TURN_LEASE`` (see ``leases.py``), and retries what a turn
could not store while the database was unreachable until it is back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from chatapp.extensions import db
from chatapp.models import ChatSession, User
from chatapp.services.chat import conversations, leases
from chatapp.sse import Pipe

log = logging.getLogger(__name__)
STOPPED = "stopped"
# Seconds between attempts to store what a turn could not while the database was away.
SETTLE_RETRY = 0.25


Turn = tuple[uuid.UUID, str]  # (session id, turn id)


class StopWatcher:
    """The turns running in this process, and the thread that looks after them."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._pipes: dict[Turn, Pipe | None] = {}
        self._pending: dict[Turn, tuple[float, Callable[[], object]]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()
        self._engine: Engine | None = None

    @contextmanager
    def watching(self, session_id: uuid.UUID, turn_id: str, pipe: Pipe | None) -> Iterator[None]:
        """Renew this turn's lease while the block runs, and interrupt ``pipe`` (if any)
        when the turn is asked to stop."""
        key = (session_id, turn_id)
        with self._lock:
            self._pipes[key] = pipe
            self._ensure_thread()
        self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._pipes.pop(key, None)

    def settle_later(
        self, session_id: uuid.UUID, turn_id: str, settle: Callable[[], object]
    ) -> None:
        """Run ``settle`` (in an app context) once the database answers again.

        A database error retries it every ``SETTLE_RETRY`` seconds, for at most
        ``CHAT_TURN_TIMEOUT``; any other exception ends it (logged).
        """
        deadline = time.monotonic() + float(self._app.config["CHAT_TURN_TIMEOUT"])
        with self._lock:
            self._pending[(session_id, turn_id)] = (deadline, settle)
            self._ensure_thread()
        self._wake.set()

    def stop_local(self, session_id: uuid.UUID, turn_id: str) -> None:
        """Interrupt the turn at once if its stream is open in this process."""
        with self._lock:
            pipe = self._pipes.get((session_id, turn_id))
        if pipe is not None:
            pipe.interrupt(STOPPED)

    def _ensure_thread(self) -> None:
        """Start the watcher thread the first time a turn runs (caller holds the lock)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="stop-watcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        """Poll for stops, renew leases and retry settlements while there are any; else sleep."""
        poll = float(self._app.config["STREAM_STOP_POLL"])
        renew_every = float(self._app.config["CHAT_TURN_LEASE"]) / 3
        renew_at = settle_at = 0.0
        while True:
            with self._lock:
                keys = [key for key, pipe in self._pipes.items() if pipe is not None]
                turns = list(self._pipes)
                if not turns and not self._pending:
                    self._wake.clear()
            if not turns and not self._pending:
                self._close_engine()
                self._wake.wait()
                continue
            self._attempt("check for stop requests", self._check, keys)
            now = time.monotonic()
            if now >= renew_at:
                self._attempt("renew turn leases", self._renew, turns)
                renew_at = now + renew_every
            if now >= settle_at:
                self._settle()
                settle_at = now + SETTLE_RETRY
            time.sleep(poll)

    def _attempt(self, what: str, action: Callable[..., object], *args: object) -> bool:
        """Run ``action`` in an app context; log its first failure of a streak, not each."""
        try:
            with self._app.app_context():
                try:
                    action(*args)
                finally:
                    db.session.remove()
        except Exception:  # a database outage must not kill the watcher
            if what not in self._failing:
                log.exception("Could not %s", what)
            self._failing.add(what)
            return False
        if what in self._failing:
            log.warning("Could %s again", what)
        self._failing.discard(what)
        return True

    def _settle(self) -> None:
        """Retry the pending settlements; keep those that met a database error."""
        with self._lock:
            pending = list(self._pending.items())
        for key, (deadline, settle) in pending:
            try:
                with self._app.app_context():
                    try:
                        settle()
                    finally:
                        db.session.remove()
            except (DBAPIError, PoolTimeout):
                if time.monotonic() < deadline:
                    continue
                log.error("Gave up storing turn %s of session %s", key[1], key[0])
            except Exception:
                log.exception("Could not store turn %s of session %s", key[1], key[0])
            with self._lock:
                self._pending.pop(key, None)

    def _own_engine(self) -> Engine:
        """The watcher's own database connection while turns run (in an app context).

        Renewing leases and polling for stops must not queue behind requests for the
        shared pool: under overload a renewal could wait past the lease. An in-memory
        SQLite database is only reachable through the app's engine.
        """
        if self._engine is None:
            url = db.engine.url
            if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
                return db.engine
            self._engine = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        return self._engine

    def _close_engine(self) -> None:
        """Close the watcher's own connection when no turn runs."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _renew(self, turns: list[Turn]) -> None:
        """Renew the leases of this process's turns."""
        with self._own_engine().begin() as connection:
            leases.renew(connection, turns)

    def _check(self, keys: list[Turn]) -> None:
        """Interrupt the open streams whose conversation was asked to stop."""
        if not keys:
            return
        with self._own_engine().connect() as connection:
            rows = connection.execute(
                select(ChatSession.id, ChatSession.turn_id).where(
                    ChatSession.id.in_({session_id for session_id, _ in keys}),
                    ChatSession.stop_requested.is_(True),
                )
            ).all()
        for session_id, turn_id in rows:
            self.stop_local(session_id, turn_id)


def init_app(app: Flask) -> None:
    """Give the app its stop watcher."""
    app.extensions["stop_watcher"] = StopWatcher(app)


def watcher() -> StopWatcher:
    """The current app's stop watcher."""
    return current_app.extensions["stop_watcher"]


def request_stop(user: User, session_id: str) -> bool:
    """Ask the conversation's reply in progress to stop; return whether one was running."""
    session = conversations.get_session(user, session_id)
    turn_id = session.turn_id
    if turn_id is None:
        return False
    result = db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == session.id, ChatSession.turn_id == turn_id)
        .values(stop_requested=True)
    )
    db.session.commit()
    if result.rowcount != 1:
        return False  # the reply finished meanwhile
    watcher().stop_local(session.id, turn_id)
    return True
