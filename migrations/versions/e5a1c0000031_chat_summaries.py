"""summaries of the older part of a conversation's path

Revision ID: e5a1c0000031
Revises: e5a1c0000030
Create Date: 2026-11-27

A new table only: no existing table is altered (nothing is rebuilt on SQLite).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000031'
down_revision = 'e5a1c0000030'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'chat_summaries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('through_message_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('pair_count', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['session_id'], ['chat_sessions.id'],
            name=op.f('fk_chat_summaries_session_id_chat_sessions'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['through_message_id'], ['chat_history.id'],
            name=op.f('fk_chat_summaries_through_message_id_chat_history'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_summaries')),
        sa.UniqueConstraint(
            'through_message_id', name=op.f('uq_chat_summaries_through_message_id')
        ),
    )
    op.create_index(
        op.f('ix_chat_summaries_session_id'), 'chat_summaries', ['session_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_chat_summaries_session_id'), table_name='chat_summaries')
    op.drop_table('chat_summaries')
