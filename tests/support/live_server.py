"""The app served over real HTTP on a background thread, for browser tests.

werkzeug's threaded server on port 0 (a free port), a fresh SQLite database, and the real
Gemini SDK pointed at a :class:`tests.support.gemini_wire.GeminiWireServer`.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import update
from werkzeug.serving import make_server

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User, utcnow
from chatapp.services import accounts
from chatapp.services.chat import paths, personalities, turns
from tests.support.app import PW_HASH, make_config


class LiveServer:
    """A running app: ``url``, and helpers that put data straight into its database."""

    def __init__(self, database: Path, **config: Any) -> None:
        self.app: Flask = create_app(make_config(f"sqlite:///{database}", **config))
        with self.app.app_context():
            db.create_all()
            personalities.seed_builtins()  # the migration seeds them; create_all does not
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._thread.join(10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def create_user(self, username: str) -> int:
        """Create an account whose password is the test suite's ``PASSWORD``."""
        with self.app.app_context():
            user = accounts.create_user(
                username, f"{username}@example.com", "", password_hash=PW_HASH
            )
            return user.id

    def create_session(
        self, username: str, title: str | None, messages: list[tuple[str, str]] = ()
    ) -> str:
        """Store a conversation with ``(role, text)`` messages; return its id."""
        with self.app.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            session = ChatSession(user_id=user.id, title=title, title_set_by_user=bool(title))
            db.session.add(session)
            db.session.flush()
            for position, (role, text) in enumerate(messages):
                db.session.add(
                    ChatMessage(session_id=session.id, position=position, role=role, content=text)
                )
            session.message_count = len(messages)
            db.session.flush()
            paths.link_in_order(db.session, [session.id])
            db.session.commit()
            return str(session.id)

    def orphan_turn(self, username: str, session_id: str, text: str, lease: float) -> None:
        """Leave what a worker killed mid-reply leaves: ``text`` stored, the conversation
        locked under a lease that lapses in ``lease`` seconds."""
        with self.app.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            turns.prepare_turn(user, text, session_id)
            db.session.execute(
                update(ChatSession)
                .where(ChatSession.id == uuid.UUID(session_id))
                .values(turn_lease_until=utcnow() + timedelta(seconds=lease))
            )
            db.session.commit()

    def session_titles(self, username: str) -> list[str | None]:
        """The titles of a user's stored conversations."""
        with self.app.app_context():
            user = db.session.scalar(db.select(User).filter_by(username=username))
            rows = db.session.scalars(db.select(ChatSession.title).filter_by(user_id=user.id))
            return list(rows)

    def messages(self, session_id: str) -> list[ChatMessage]:
        """The stored messages of a conversation, in order (detached copies)."""
        with self.app.app_context():
            rows = db.session.scalars(
                db.select(ChatMessage)
                .filter_by(session_id=uuid.UUID(session_id))
                .order_by(ChatMessage.position)
            )
            result = list(rows)
            db.session.expunge_all()
            return result
