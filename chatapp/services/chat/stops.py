"""Stopping a reply in progress, from any worker or host.

A stop request is a row update (``chat_sessions.stop_requested``), so it reaches whichever
process holds the stream. Each process runs one watcher thread that, while it has streams
open, asks the database every ``STREAM_STOP_POLL`` seconds — one query for all of them —
which were asked to stop, and interrupts their pipes. A stop that lands on the process
holding the stream interrupts it at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import select, update

from chatapp.extensions import db
from chatapp.models import ChatSession, User
from chatapp.services.chat import conversations
from chatapp.sse import Pipe

log = logging.getLogger(__name__)
STOPPED = "stopped"


class StopWatcher:
    """The streams open in this process, and the thread that looks for their stops."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._pipes: dict[tuple[uuid.UUID, str], Pipe] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, session_id: uuid.UUID, turn_id: str, pipe: Pipe) -> Iterator[None]:
        """Interrupt ``pipe`` if this turn is asked to stop while the block runs."""
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

    def stop_local(self, session_id: uuid.UUID, turn_id: str) -> None:
        """Interrupt the turn at once if its stream is open in this process."""
        with self._lock:
            pipe = self._pipes.get((session_id, turn_id))
        if pipe is not None:
            pipe.interrupt(STOPPED)

    def _ensure_thread(self) -> None:
        """Start the watcher thread the first time a stream opens (caller holds the lock)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="stop-watcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        """Poll for stop requests while streams are open; sleep while none are."""
        interval = float(self._app.config["STREAM_STOP_POLL"])
        while True:
            with self._lock:
                keys = list(self._pipes)
            if not keys:
                self._wake.clear()
                self._wake.wait()
                continue
            try:
                self._check(keys)
            except Exception:  # a database hiccup must not kill the watcher
                log.exception("Could not check for stop requests")
            time.sleep(interval)

    def _check(self, keys: list[tuple[uuid.UUID, str]]) -> None:
        """Interrupt the open streams whose conversation was asked to stop."""
        with self._app.app_context():
            rows = db.session.execute(
                select(ChatSession.id, ChatSession.turn_id).where(
                    ChatSession.id.in_({session_id for session_id, _ in keys}),
                    ChatSession.stop_requested.is_(True),
                )
            ).all()
            db.session.remove()
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
