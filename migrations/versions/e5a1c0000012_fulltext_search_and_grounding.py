"""full-text search over chunks; how a reply was grounded

Revision ID: e5a1c0000012
Revises: e5a1c0000001
Create Date: 2026-11-27 12:30:00

"""
from alembic import op
import sqlalchemy as sa

from chatapp.services.knowledge import fulltext


# revision identifiers, used by Alembic.
revision = 'e5a1c0000012'
down_revision = 'e5a1c0000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('chat_history', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grounding', sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        for statement in fulltext.SQLITE_DDL:
            op.execute(statement)
        op.execute(f"INSERT INTO {fulltext.FTS_TABLE}({fulltext.FTS_TABLE}) VALUES ('rebuild')")
    else:
        for statement in fulltext.POSTGRES_DDL:
            op.execute(statement)


def downgrade():
    drops = fulltext.SQLITE_DROP if op.get_bind().dialect.name == 'sqlite' else fulltext.POSTGRES_DROP
    for statement in drops:
        op.execute(statement)
    with op.batch_alter_table('chat_history', schema=None) as batch_op:
        batch_op.drop_column('grounding')
