"""languages of documents and chunks

Each document and chunk records the language its text is in (ISO 639-1), detected at ingestion;
a chunk's lexical postings are stemmed with that language's text-search configuration. Rows
stored before have none and keep the configured language's stemming until processed again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('documents', sa.Column('language', sa.String(length=16), nullable=True))
    op.add_column('chunks', sa.Column('language', sa.String(length=16), nullable=True))


def downgrade():
    op.drop_column('chunks', 'language')
    op.drop_column('documents', 'language')
