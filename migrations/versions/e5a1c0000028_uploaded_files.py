"""uploaded files and their bytes

Revision ID: e5a1c0000028
Revises: e5a1c0000026
Create Date: 2026-11-27

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5a1c0000028'
down_revision = 'e5a1c0000026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'files',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('mime_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['message_id'], ['chat_history.id'],
            name=op.f('fk_files_message_id_chat_history'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_files_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_files')),
    )
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.create_index('ix_files_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_files_message_id'), ['message_id'], unique=False)
    op.create_table(
        'file_blobs',
        sa.Column('file_id', sa.Uuid(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['file_id'], ['files.id'], name=op.f('fk_file_blobs_file_id_files'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('file_id', name=op.f('pk_file_blobs')),
    )


def downgrade():
    op.drop_table('file_blobs')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_files_message_id'))
        batch_op.drop_index('ix_files_user_created')
    op.drop_table('files')
