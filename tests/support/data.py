"""Data builders (stored conversations, counts) and SSE parsing for the tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services import accounts
from chatapp.services.chat import paths
from tests.support.clients import ApiUser


def add_messages(
    app: Flask, username: str, *texts_at: tuple[str, datetime], title: str | None = None
) -> str:
    """Store a conversation of ``username``: each user message at its time, with a reply."""
    with app.app_context():
        user = accounts.find_user(username)
        assert isinstance(user, User)
        session = ChatSession(user_id=user.id, title=title, created_at=texts_at[0][1])
        db.session.add(session)
        db.session.flush()
        for index, (text, when) in enumerate(texts_at):
            for offset, (role, content) in enumerate((("user", text), ("model", "ok"))):
                db.session.add(
                    ChatMessage(
                        session_id=session.id,
                        position=2 * index + offset,
                        role=role,
                        content=content,
                        created_at=when,
                    )
                )
        session.message_count = 2 * len(texts_at)
        db.session.flush()
        paths.link_in_order(db.session, [session.id])
        db.session.commit()
        return str(session.id)


def set_timezone(app: Flask, username: str, zone: str) -> None:
    """Give ``username`` a time zone."""
    with app.app_context():
        user = accounts.find_user(username)
        assert user is not None
        accounts.update_settings(user, zone)


def sse_events(response: Any) -> list[dict[str, Any]]:
    """Parse the JSON ``data:`` events of an SSE response or body (comments skipped)."""
    body = response if isinstance(response, str) else response.get_data(as_text=True)
    frames = [frame for frame in body.split("\n\n") if frame.startswith("data: ")]
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


def count_stored(app: Flask) -> tuple[int, int]:
    """How many conversations and messages the database holds."""
    with app.app_context():
        sessions = db.session.scalar(select(func.count()).select_from(ChatSession))
        messages = db.session.scalar(select(func.count()).select_from(ChatMessage))
        return sessions, messages


def start_chat(user: ApiUser, *messages: str) -> str:
    """Start a conversation of ``user`` with ``messages``; return its id."""
    session_id = None
    for message in messages:
        response = user.send(message, session_id)
        assert response.status_code == 200, response.json
        session_id = response.json["sessionId"]
    assert session_id is not None
    return session_id
