"""store vectors inline in the row

A generation's ``embedding`` column had pgvector's default storage (EXTERNAL): with the chunk
text and metadata beside it the row passes the TOAST threshold and the vector goes out of line,
so an exact scan of an organization read three buffers per row. MAIN keeps it in the row (text
and metadata are moved out first). Rows written from now on are stored so; existing rows move
when their table is rewritten (``VACUUM FULL`` or a reindex into a new generation).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _tables():
    rows = op.get_bind().execute(sa.text("SELECT name FROM vector_indexes ORDER BY id"))
    tables = [f"data_{name}" for (name,) in rows]
    exists = sa.text("SELECT to_regclass(:table)")
    return [table for table in tables if op.get_bind().execute(exists, {"table": table}).scalar()]


def upgrade():
    for table in _tables():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE MAIN")


def downgrade():
    for table in _tables():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE EXTERNAL")
