"""Migration e5a1c0000029 on a database filled before it: files and messages keep their
rows, the new columns start empty, and a turn on the old data works."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import flask_migrate
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    String,
    TableClause,
    Uuid,
    column,
    insert,
    select,
    table,
)

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSession, UploadedFile, User
from chatapp.services.chat import turns
from tests.support.app import make_config

NOW = datetime.now(UTC)
SESSION = uuid.uuid4()
FILE = uuid.uuid4()
ROWS = {
    "users": [
        {"id": 1, "username": "old", "email": "old@example.com", "password_hash": "x",
         "is_admin": False, "created_at": NOW},
    ],
    "chat_sessions": [
        {"id": SESSION, "user_id": 1, "title": "Old", "title_set_by_user": False,
         "created_at": NOW, "updated_at": NOW, "message_count": 2},
    ],
    "chat_history": [
        {"session_id": SESSION, "position": 0, "role": "user", "content": "see this",
         "created_at": NOW, "status": "complete"},
        {"session_id": SESSION, "position": 1, "role": "model", "content": "seen",
         "created_at": NOW, "status": "complete"},
    ],
    "files": [
        {"id": FILE, "user_id": 1, "message_id": 0, "name": "notes.txt",
         "mime_type": "text/plain", "size": 400, "sha256": "0" * 64, "created_at": NOW},
    ],
    "file_blobs": [{"file_id": FILE, "data": b"a" * 400}],
}  # fmt: skip
TYPES = {
    int: Integer,
    str: String,
    bool: Boolean,
    datetime: DateTime,
    uuid.UUID: Uuid,
    bytes: LargeBinary,
}


def old_table(name: str) -> TableClause:
    """A table as of e5a1c0000028, only the columns these rows fill."""
    return table(name, *(column(key, TYPES[type(value)]) for key, value in ROWS[name][0].items()))


def first_message(connection: Connection) -> int:
    """The id of the old conversation's first message."""
    messages = old_table("chat_history")
    query = select(column("id", Integer)).select_from(messages).where(column("position") == 0)
    return connection.execute(query).scalar_one()


def test_files_and_messages_before_the_migration_still_work(empty_database: str) -> None:
    """After the upgrade the old file has no token count (an estimate stands in), the old
    reply omitted nothing, and the next turn sends the old file again."""
    app = create_app(make_config(empty_database, OFFLINE_MODEL_DELAY=0))
    with app.app_context():
        flask_migrate.upgrade(revision="e5a1c0000028")
        with db.engine.begin() as connection:
            for name, rows in ROWS.items():
                if name == "files":  # attached to the first message, whatever its id
                    rows = [{**rows[0], "message_id": first_message(connection)}]
                connection.execute(insert(old_table(name)), rows)
        flask_migrate.upgrade()
        assert db.session.get(UploadedFile, FILE).tokens is None
        replies = select(ChatMessage.omitted_attachments).where(ChatMessage.role == "model")
        assert db.session.scalars(replies).all() == [None]
        user = db.session.get(User, 1)
        reply = turns.send_message(user, "and now?", str(SESSION))
        assert "Earlier turns carried 1 file(s): notes.txt." in reply.content
        assert reply.omitted_attachments is None
        count = db.session.scalar(
            select(ChatSession.message_count).where(ChatSession.id == SESSION)
        )
        assert count == 4
        db.session.remove()
        db.engine.dispose()
