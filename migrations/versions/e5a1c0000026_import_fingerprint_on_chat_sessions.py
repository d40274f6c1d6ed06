"""import fingerprint on chat sessions

Revision ID: e5a1c0000026
Revises: e5a1c0000024
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000026'
down_revision = 'e5a1c0000024'
branch_labels = None
depends_on = None


def upgrade():
    # A unique index, not a constraint: SQLite adds both in place (a constraint would make
    # the batch rebuild chat_sessions, dropping the triggers other migrations put on it).
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_index(
            'uq_chat_sessions_user_import_fingerprint',
            ['user_id', 'import_fingerprint'],
            unique=True,
        )


def downgrade():
    # In place on both databases (SQLite 3.35+ drops a column itself); a batch rebuild would
    # trip over the search view that reads chat_sessions.
    op.drop_index('uq_chat_sessions_user_import_fingerprint', table_name='chat_sessions')
    op.drop_column('chat_sessions', 'import_fingerprint')
