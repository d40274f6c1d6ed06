"""import fingerprint on chat sessions

Revision ID: e5a1c0000026
Revises: e5a1c0000022
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000026'
down_revision = 'e5a1c0000022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            'uq_chat_sessions_user_import_fingerprint', ['user_id', 'import_fingerprint']
        )


def downgrade():
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_chat_sessions_user_import_fingerprint', type_='unique')
        batch_op.drop_column('import_fingerprint')
