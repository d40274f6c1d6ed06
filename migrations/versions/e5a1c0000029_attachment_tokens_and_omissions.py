"""what an attachment costs the model, and what a reply's turn left out

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


def downgrade():
    # SQLite 3.35+ drops a column in place too.
    op.drop_column('chat_history', 'omitted_attachments')
    op.drop_column('files', 'tokens')
