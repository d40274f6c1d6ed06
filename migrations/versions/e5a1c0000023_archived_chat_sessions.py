"""archived chat sessions

Revision ID: e5a1c0000023
Revises: e5a1c0000022
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000023'
down_revision = 'e5a1c0000022'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: SQLite adds the column in place (an expression would make the
    # batch rebuild the table).
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('archived', sa.Boolean(), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_column('archived')
