"""init-db brings an empty database to a schema identical to the models."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chatapp import create_app
from chatapp.extensions import db
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
