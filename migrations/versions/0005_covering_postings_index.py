"""postings index covers BM25

The (organization_id, term) index of chunk_terms becomes (organization_id, term, chunk_id)
INCLUDE (tf, doc_len): BM25 then reads a term's postings from the index alone (an index-only
scan of adjacent entries) instead of visiting one heap page per posting, and can look up one
(term, chunk) pair the same way.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_chunk_terms_postings',
        'chunk_terms',
        ['organization_id', 'term', 'chunk_id'],
        unique=False,
        postgresql_include=['tf', 'doc_len'],
    )
    op.drop_index('ix_chunk_terms_organization_id_term', table_name='chunk_terms')


def downgrade():
    op.create_index(
        'ix_chunk_terms_organization_id_term',
        'chunk_terms',
        ['organization_id', 'term'],
        unique=False,
    )
    op.drop_index('ix_chunk_terms_postings', table_name='chunk_terms')
