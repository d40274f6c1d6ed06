"""init-db brings an empty database to a schema identical to the models."""

import uuid
from datetime import UTC, datetime

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Uuid,
    column,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
)

from chatapp import create_app
from chatapp.extensions import db
from chatapp.models import ChatMessage, ChatSummary, User
from chatapp.services.chat import search
from chatapp.services.knowledge import fulltext, vector_schema
from tests.support.app import make_config


def test_init_db_matches_models_and_is_idempotent(empty_database: str) -> None:
    """Running init-db twice leaves every table the models declare, with no drift."""
    app = create_app(make_config(empty_database))
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.connect() as connection:
            opts = {
                "include_name": fulltext.include_name,
                "include_object": vector_schema.include_object,
            }
            diff = compare_metadata(MigrationContext.configure(connection, opts=opts), db.metadata)
        tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {"users", "api_tokens", "chat_sessions", "chat_history"} <= tables


def test_downgrade_to_base_and_back(empty_database: str) -> None:
    """Every migration can be undone and redone."""
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        db.engine.dispose()


# The tables as of e5a1c0000022, only the columns these tests fill.
OLD_USERS = table(
    "users",
    column("id", Integer),
    column("username", String),
    column("email", String),
    column("password_hash", String),
    column("is_admin", Boolean),
    column("created_at", DateTime),
)
OLD_SESSIONS = table(
    "chat_sessions",
    column("id", Uuid),
    column("user_id", Integer),
    column("title", String),
    column("title_set_by_user", Boolean),
    column("created_at", DateTime),
    column("updated_at", DateTime),
    column("message_count", Integer),
)
OLD_MESSAGES = table(
    "chat_history",
    column("session_id", Uuid),
    column("position", Integer),
    column("role", String),
    column("content", String),
    column("created_at", DateTime),
    column("status", String),
)


def fill_old(contents: list[str]) -> uuid.UUID:
    """Store user "old" (id 1) and one conversation of ``contents`` (alternating user and
    model messages) in the tables as they were; return the conversation's id."""
    now, key = datetime.now(UTC), uuid.uuid4()
    with db.engine.begin() as connection:
        connection.execute(
            insert(OLD_USERS),
            [
                {
                    "id": 1,
                    "username": "old",
                    "email": "old@example.com",
                    "password_hash": "x",
                    "is_admin": False,
                    "created_at": now,
                }
            ],
        )
        connection.execute(
            insert(OLD_SESSIONS),
            [
                {
                    "id": key,
                    "user_id": 1,
                    "title": "Old",
                    "title_set_by_user": False,
                    "created_at": now,
                    "updated_at": now,
                    "message_count": len(contents),
                }
            ],
        )
        connection.execute(
            insert(OLD_MESSAGES),
            [
                {
                    "session_id": key,
                    "position": i,
                    "role": ("user", "model")[i % 2],
                    "content": content,
                    "created_at": now,
                    "status": "complete",
                }
                for i, content in enumerate(contents)
            ],
        )
    return key


def test_existing_messages_become_searchable(empty_database: str) -> None:
    """Messages stored before the search migration are found after it (backfill)."""
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="e5a1c0000022")
        fill_old(["archaeopteryx feathers", "unrelated words"])
        flask_migrate.upgrade()
        user = db.session.get(User, 1)
        hits, total = search.search(user, "archaeopteryx", 10, 0)
        # Later migrations keep the index in step too: a deleted conversation's messages go.
        db.session.execute(delete(OLD_SESSIONS))
        db.session.commit()
        _, left = search.search(user, "archaeopteryx", 10, 0)
        db.session.remove()
        db.engine.dispose()
    assert total == 1
    assert [hit.snippet for hit in hits] == ["<mark>archaeopteryx</mark> feathers"]
    assert left == 0


def test_summaries_of_conversations_stored_before_them(empty_database: str) -> None:
    """After e5a1c0000031 a conversation stored before it can be summarised (keyed by one
    of its messages); deleting the conversation deletes its summaries."""
    app = create_app(make_config(empty_database))
    with app.app_context():
        flask_migrate.upgrade(revision="e5a1c0000028")
        key = fill_old(["question", "answer", "next question", "next answer"])
        flask_migrate.upgrade()
        through = db.session.scalar(
            select(ChatMessage.id).where(ChatMessage.session_id == key, ChatMessage.position == 1)
        )
        db.session.add(
            ChatSummary(session_id=key, through_message_id=through, content="S", pair_count=1)
        )
        db.session.commit()
        stored = [
            (s.session_id, s.through_message_id) for s in db.session.scalars(select(ChatSummary))
        ]
        db.session.execute(delete(OLD_SESSIONS))
        db.session.commit()
        left = db.session.scalar(select(func.count()).select_from(ChatSummary))
        db.session.remove()
        db.engine.dispose()
    assert stored == [(key, through)]
    assert left == 0
