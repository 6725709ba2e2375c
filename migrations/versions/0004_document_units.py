"""document units

The pages or sections of each document's stored version with a fingerprint and the range of
chunks cut from each, so that an edited file re-uses the chunks of its unchanged units.
Documents stored before this revision have no units and are chunked again in full.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:12:31.418207

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_units',
    sa.Column('document_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('text_length', sa.Integer(), nullable=False),
    sa.Column('first_chunk', sa.Integer(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_units_document_id_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'position', name=op.f('pk_document_units'))
    )


def downgrade():
    op.drop_table('document_units')
