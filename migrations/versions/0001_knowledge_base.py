"""knowledge base: documents, chunks, lexical postings, vector indexes

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 17:06:57.794127

"""
from alembic import op
import sqlalchemy as sa

from ragkit.index import vector_table_ddl

# The first vector-table generation: the default offline model, all-MiniLM-L6-v2.
FIRST_INDEX = "embeddings_1"
FIRST_MODEL = "local:all-MiniLM-L6-v2"
FIRST_DIMENSIONS = 384


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('documents',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('source', sa.String(length=1024), nullable=False),
    sa.Column('file_path', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('file_size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('pipeline_signature', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('processing_error', sa.Text(), nullable=True),
    sa.Column('chunk_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'processing', 'ready', 'failed')", name=op.f('ck_documents_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents'))
    )
    op.create_index('ix_documents_organization_id_content_hash', 'documents', ['organization_id', 'content_hash'], unique=False)
    op.create_index('ix_documents_organization_id_created_at', 'documents', ['organization_id', 'created_at'], unique=False)
    op.create_index('ix_documents_organization_id_source', 'documents', ['organization_id', 'source'], unique=False)
    op.create_table('vector_indexes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('embed_model', sa.String(length=300), nullable=False),
    sa.Column('dimensions', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('building', 'active', 'retired')", name=op.f('ck_vector_indexes_status_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vector_indexes')),
    sa.UniqueConstraint('name', name=op.f('uq_vector_indexes_name'))
    )
    op.create_index('uq_vector_indexes_default', 'vector_indexes', ['is_default'], unique=True, postgresql_where=sa.text('is_default'))
    op.create_table('chunks',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('document_id', sa.UUID(), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('chunk_index', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('page_number', sa.Integer(), nullable=True),
    sa.Column('section_title', sa.String(length=500), nullable=True),
    sa.Column('start_char', sa.Integer(), nullable=False),
    sa.Column('end_char', sa.Integer(), nullable=False),
    sa.Column('token_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('term_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('parent_chunk_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_chunks_document_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_chunk_id'], ['chunks.id'], name=op.f('fk_chunks_parent_chunk_id_chunks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chunks')),
    sa.UniqueConstraint('document_id', 'chunk_index', name=op.f('uq_chunks_document_id'))
    )
    op.create_index(op.f('ix_chunks_organization_id'), 'chunks', ['organization_id'], unique=False)
    op.create_table('organization_indexes',
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('vector_index_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['vector_index_id'], ['vector_indexes.id'], name=op.f('fk_organization_indexes_vector_index_id_vector_indexes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_organization_indexes'))
    )
    op.create_table('chunk_terms',
    sa.Column('chunk_id', sa.UUID(), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('document_id', sa.UUID(), nullable=False),
    sa.Column('tf', sa.Integer(), nullable=False),
    sa.Column('doc_len', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chunk_id'], ['chunks.id'], name=op.f('fk_chunk_terms_chunk_id_chunks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chunk_id', 'term', name=op.f('pk_chunk_terms'))
    )
    op.create_index('ix_chunk_terms_document_id', 'chunk_terms', ['document_id'], unique=False)
    op.create_index('ix_chunk_terms_organization_id_term', 'chunk_terms', ['organization_id', 'term'], unique=False)
    for statement in vector_table_ddl(FIRST_INDEX, FIRST_DIMENSIONS):
        op.execute(statement)
    op.execute(
        sa.text(
            "INSERT INTO vector_indexes (name, embed_model, dimensions, status, is_default) "
            "VALUES (:name, :model, :dimensions, 'active', true)"
        ).bindparams(name=FIRST_INDEX, model=FIRST_MODEL, dimensions=FIRST_DIMENSIONS)
    )


def downgrade():
    for (table,) in op.get_bind().execute(sa.text("SELECT 'data_' || name FROM vector_indexes")):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.drop_index('ix_chunk_terms_organization_id_term', table_name='chunk_terms')
    op.drop_index('ix_chunk_terms_document_id', table_name='chunk_terms')
    op.drop_table('chunk_terms')
    op.drop_table('organization_indexes')
    op.drop_index(op.f('ix_chunks_organization_id'), table_name='chunks')
    op.drop_table('chunks')
    op.drop_index('uq_vector_indexes_default', table_name='vector_indexes', postgresql_where=sa.text('is_default'))
    op.drop_table('vector_indexes')
    op.drop_index('ix_documents_organization_id_source', table_name='documents')
    op.drop_index('ix_documents_organization_id_created_at', table_name='documents')
    op.drop_index('ix_documents_organization_id_content_hash', table_name='documents')
    op.drop_table('documents')
