"""chunk vectors: pgvector column and HNSW index, or a real[] mirror for exact search

Revision ID: e5a1c0000013
Revises: e5a1c0000012
Create Date: 2026-11-27 12:40:00

PostgreSQL only (SQLite searches the BLOBs). Creates the ``vector`` extension when the
database user may; without it chunks get a ``real[]`` mirror and search is exact. The DDL is
shared with ``db.create_all()`` (chatapp.services.knowledge.vector_schema); the index is for
768 dimensions, the default GEMINI_EMBEDDING_DIM (another dimension needs its own index:
``vector_schema.create_hnsw_index``).
"""
from alembic import op

from chatapp.services.knowledge import vector_schema


# revision identifiers, used by Alembic.
revision = 'e5a1c0000013'
down_revision = 'e5a1c0000012'
branch_labels = None
depends_on = None


def upgrade():
    vector_schema.install(op.get_bind(), dim=768)


def downgrade():
    vector_schema.uninstall(op.get_bind())
