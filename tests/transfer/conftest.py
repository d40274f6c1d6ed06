"""Conversations with everything an export holds, and calls of the export/import routes."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession
from chatapp.services import accounts
from chatapp.services.chat import paths, personalities
from tests.support.clients import ApiUser

pytestmark = pytest.mark.app_config(OFFLINE_MODEL_DELAY=0)
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
SOURCE = {
    "index": 1,
    "title": "Garden notes",
    "url": "https://example.com/garden",
    "documentId": None,
    "collectionId": None,
    "snippet": "Beans go in after the last frost.",
    "score": 0.82,
    "retrieval": "web",
    "cited": True,
}


def store_conversation(app: Flask, username: str, title: str, start: datetime = START) -> str:
    """Store a conversation of ``username`` with every kind of message: a grounded reply
    with sources, a failed user message, an interrupted reply; the coach's prompt."""
    with app.app_context():
        user = accounts.find_user(username)
        assert user is not None
        coach = personalities.get_personality(user, "coach")
        session = ChatSession(
            user_id=user.id,
            title=title,
            title_set_by_user=True,
            system_prompt=coach.system_prompt,
            created_at=start,
            updated_at=start + timedelta(minutes=5),
            web_search=True,
        )
        rows = [
            ("user", f"When do I plant beans? ({title})", "complete", None, None),
            ("model", "After the last frost [1].", "complete", None, "gemini-test"),
            ("user", "And tomatoes?", "failed", "MODEL_UNAVAILABLE", None),
            ("user", "And tomatoes, again?", "complete", None, None),
            ("model", "In late spring, when", "interrupted", None, "gemini-test"),
        ]
        session.messages = [
            ChatMessage(
                position=position,
                role=role,
                content=content,
                created_at=start + timedelta(seconds=position),
                status=status,
                error_code=code,
                model=model,
                sources=[SOURCE] if position == 1 else None,
                grounding={"retrieval": "hybrid"} if position == 1 else None,
                prompt_tokens=12 if model else None,
                output_tokens=7 if model else None,
            )
            for position, (role, content, status, code, model) in enumerate(rows)
        ]
        session.message_count = len(rows)
        db.session.add(session)
        db.session.flush()
        paths.link_in_order(db.session, [session.id])
        db.session.commit()
        return str(session.id)


def export_all(user: ApiUser) -> dict[str, Any]:
    """Everything ``user`` has, as the export route sends it."""
    response = user.call("GET", "/api/v1/chat/export")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return json.loads(response.get_data())


def import_file(user: ApiUser, data: bytes, name: str = "export.json") -> Any:
    """Upload ``data`` as the multipart ``file`` of an import."""
    form = {"file": (io.BytesIO(data), name)}
    return user.call("POST", "/api/v1/chat/import", data=form, content_type="multipart/form-data")


def contents(export: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversations of an export, without the moment it was made."""
    return export["conversations"]
