"""Migration e5a1c0000030 on a database filled before it: every conversation becomes a single
branch, nothing lost, on SQLite and PostgreSQL; a turn after it continues that branch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import flask_migrate
from sqlalchemy import insert, select

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, User
from chatapp.services.chat import conversations, turns
from chatapp.services.chat.search import search
from tests.support.app import make_config
from tests.test_migrations import OLD_MESSAGES, OLD_SESSIONS, OLD_USERS

BEFORE = "e5a1c0000028"
# Two conversations as they were stored before branches (one has a failed message).
CONVERSATIONS = {
    "first": [("user", "hello", "complete"), ("model", "hi there", "complete")],
    "second": [
        ("user", "question", "complete"),
        ("model", "answer", "complete"),
        ("user", "lost", "failed"),
        ("user", "question again", "complete"),
        ("model", "answer again", "complete"),
    ],
}


def fill_old_database() -> dict[str, uuid.UUID]:
    """Store a user and the conversations with the tables as they were; return their ids."""
    now = datetime.now(UTC)
    keys = {title: uuid.uuid4() for title in CONVERSATIONS}
    user = {"id": 1, "username": "old", "email": "o@example.com", "password_hash": "x"}
    with db.engine.begin() as connection:
        connection.execute(insert(OLD_USERS), [{**user, "is_admin": False, "created_at": now}])
        for title, messages in CONVERSATIONS.items():
            session = {"id": keys[title], "user_id": 1, "title": title, "title_set_by_user": True}
            connection.execute(
                insert(OLD_SESSIONS),
                [{**session, "created_at": now, "updated_at": now, "message_count": len(messages)}],
            )
            connection.execute(
                insert(OLD_MESSAGES),
                [
                    {
                        "session_id": keys[title],
                        "position": position,
                        "role": role,
                        "content": content,
                        "created_at": now,
                        "status": status,
                    }
                    for position, (role, content, status) in enumerate(messages)
                ],
            )
    return keys


def test_existing_conversations_become_single_branches(empty_database: str) -> None:
    """Parents follow the old order, the active path is the whole conversation, search still
    finds the messages, and the next turn goes at the end of that path."""
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision=BEFORE)
        keys = fill_old_database()
        flask_migrate.upgrade()

        for title, messages in CONVERSATIONS.items():
            stored = conversations.stored_messages(db.session.get(ChatSession, keys[title]))
            assert [(m.role, m.content, m.status) for m in stored] == messages
            assert [m.parent_id for m in stored] == [None] + [m.id for m in stored[:-1]]
            session = db.session.get(ChatSession, keys[title])
            assert session.active_message_id == stored[-1].id

        user = db.session.get(User, 1)
        assert search(user, "question", 10, 0)[1] == 2  # the full-text triggers survived
        reply = turns.send_message(user, "one more", str(keys["second"]))
        session = db.session.get(ChatSession, keys["second"])
        path = conversations.stored_messages(session)
        count = db.session.scalar(
            select(db.func.count()).where(ChatMessage.session_id == keys["second"])
        )
        db.session.remove()
        db.engine.dispose()
    assert [m.content for m in path][-3:] == ["answer again", "one more", reply.content]
    assert "4 earlier turn(s)" in reply.content  # both answered turns; the failed one left out
    assert path[-2].parent_id == path[-3].id and path[-1].parent_id == path[-2].id
    assert count == 7
