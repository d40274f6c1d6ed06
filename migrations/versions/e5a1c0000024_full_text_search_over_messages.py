"""full-text search over chat messages

Revision ID: e5a1c0000024
Revises: e5a1c0000023
Create Date: 2026-11-27 15:30:00

Existing messages become searchable here: SQLite's FTS5 table is rebuilt from its source
view, PostgreSQL fills the generated column for every row as it is added.
"""
from alembic import op

from chatapp.services.chat import search


# revision identifiers, used by Alembic.
revision = 'e5a1c0000024'
down_revision = 'e5a1c0000023'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for statement in search.SQLITE_DDL:
            op.execute(statement)
        op.execute(search.INDEX.sqlite_rebuild)
    else:
        for statement in search.INDEX.postgres_ddl:
            op.execute(statement)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for statement in search.SQLITE_DROP if sqlite else search.INDEX.postgres_drop:
        op.execute(statement)
