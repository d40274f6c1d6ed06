"""messages form a tree: chat_history.parent_id, chat_sessions.active_message_id

Revision ID: e5a1c0000030
Revises: e5a1c0000028
Create Date: 2026-11-27

Every existing conversation becomes a single branch: each message's parent is the message
before it, and the active path runs through the last one. Both columns are added in place
(never a batch rebuild: it would drop chat_history's full-text triggers on SQLite).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e5a1c0000030"
down_revision = "e5a1c0000028"
branch_labels = None
depends_on = None

MESSAGES = sa.table(
    "chat_history",
    sa.column("id", sa.Integer),
    sa.column("session_id", sa.Uuid),
    sa.column("position", sa.Integer),
    sa.column("parent_id", sa.Integer),
)
SESSIONS = sa.table(
    "chat_sessions", sa.column("id", sa.Uuid), sa.column("active_message_id", sa.Integer)
)


def upgrade():
    op.add_column(
        "chat_history",
        sa.Column(
            "parent_id",
            sa.Integer(),
            # Added in place, the reference is inline (SQLite cannot add a constraint).
            sa.ForeignKey("chat_history.id", name=op.f("fk_chat_history_parent_id_chat_history")),
            nullable=True,
        ),
        inline_references=True,
    )
    op.add_column("chat_sessions", sa.Column("active_message_id", sa.Integer(), nullable=True))
    earlier = MESSAGES.alias("earlier")
    op.execute(
        MESSAGES.update().values(
            parent_id=sa.select(earlier.c.id)
            .where(
                earlier.c.session_id == MESSAGES.c.session_id,
                earlier.c.position < MESSAGES.c.position,
            )
            .order_by(earlier.c.position.desc())
            .limit(1)
            .scalar_subquery()
        )
    )
    op.execute(
        SESSIONS.update().values(
            active_message_id=sa.select(MESSAGES.c.id)
            .where(MESSAGES.c.session_id == SESSIONS.c.id)
            .order_by(MESSAGES.c.position.desc())
            .limit(1)
            .scalar_subquery()
        )
    )
    op.create_index(op.f("ix_chat_history_parent_id"), "chat_history", ["parent_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_chat_history_parent_id"), table_name="chat_history")
    op.drop_column("chat_sessions", "active_message_id")
    # In place on SQLite 3.35+ (the column's foreign key goes with it).
    op.drop_column("chat_history", "parent_id")
