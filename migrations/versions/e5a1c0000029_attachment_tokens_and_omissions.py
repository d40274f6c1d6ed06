"""what an attachment costs the model, what a reply's turn left out, which
conversations have files

Revision ID: e5a1c0000029
Revises: e5a1c0000028
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000029'
down_revision = 'e5a1c0000028'
branch_labels = None
depends_on = None


def upgrade():
    # In place on both databases: a batch rebuild of chat_history would drop its
    # full-text triggers (docs/search.md).
    op.add_column('files', sa.Column('tokens', sa.Integer(), nullable=True))
    op.add_column('chat_history', sa.Column('omitted_attachments', sa.JSON(), nullable=True))
    op.add_column(
        'chat_sessions',
        sa.Column('has_files', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE chat_sessions SET has_files = true WHERE id IN ("
        "SELECT chat_history.session_id FROM chat_history "
        "JOIN files ON files.message_id = chat_history.id)"
    )


def downgrade():
    # SQLite 3.35+ drops a column in place too.
    op.drop_column('chat_sessions', 'has_files')
    op.drop_column('chat_history', 'omitted_attachments')
    op.drop_column('files', 'tokens')
