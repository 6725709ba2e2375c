"""drop the unused text-search column of vector tables

Every vector-table generation carried a generated ``text_search_tsv`` column and its GIN index
(``PGVectorStore``'s hybrid layout), computed on every insert and never queried: lexical search
reads ragkit's own postings. Dropping them makes storing chunks cheaper. The downgrade adds them
back (English configuration, as they were created by default).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _generations():
    rows = op.get_bind().execute(sa.text("SELECT name FROM vector_indexes ORDER BY id"))
    return [name for (name,) in rows]


def upgrade():
    for name in _generations():
        op.execute(f"ALTER TABLE IF EXISTS data_{name} DROP COLUMN IF EXISTS text_search_tsv")


def downgrade():
    for name in _generations():
        exists = op.get_bind().execute(sa.text("SELECT to_regclass(:table)"), {"table": f"data_{name}"})
        if exists.scalar() is None:
            continue
        op.execute(
            f"ALTER TABLE data_{name} ADD COLUMN text_search_tsv TSVECTOR "
            "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
        )
        op.execute(f"CREATE INDEX {name}_idx ON data_{name} USING gin (text_search_tsv)")
