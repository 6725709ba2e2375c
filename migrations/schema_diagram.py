"""Write ``docs/schema.md``: a Mermaid ER diagram of every table, from the models' metadata.

Run ``make schema-diagram`` (``python -m migrations.schema_diagram``) after changing a model; a
test fails while the file is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"

HEADER = """# Database schema

Generated from the SQLAlchemy metadata by `make schema-diagram`; do not edit by hand.
ragkit owns `documents`, `chunks`, `chunk_terms`, `vector_indexes`, `organization_indexes` and
`stored_files` with `stored_file_parts` (uploaded files' bytes, in 1 MiB parts); the web
application owns the rest. ragkit's `organization_id` columns hold the web
application's `organizations.id` as text.

Not shown: the vector tables `data_<index name>` (one per embedding-model generation, listed in
`vector_indexes`; the first, `data_embeddings_1`, is created by migration 0001). Each row is a
chunk's embedding, keyed by the chunk id (`node_id`), with an HNSW cosine index (lexical search
reads `postings`, so the tables have no text-search column since migration 0010). The vector is
kept in the row (`STORAGE MAIN`, migration 0011) so that an exact scan of an organization reads
no TOAST pages.

"""


def column_type(column: sa.Column) -> str:
    """A one-word type name Mermaid accepts, e.g. ``varchar`` or ``varchar[]``."""
    compiled = column.type.compile(dialect=postgresql.dialect()).lower()
    compiled = compiled.replace("timestamp with time zone", "timestamptz")
    return re.sub(r"\(.*?\)", "", compiled).replace(" ", "_")


def keys(column: sa.Column) -> str:
    marks = [
        mark
        for mark, present in (
            ("PK", column.primary_key),
            ("FK", bool(column.foreign_keys)),
            ("UK", bool(column.unique)),
        )
        if present
    ]
    return ",".join(marks)


def entity(table: sa.Table) -> list[str]:
    lines = [f"    {table.name} {{"]
    for column in table.columns:
        attribute = f"{column_type(column)} {column.name} {keys(column)}".rstrip()
        lines.append(f'        {attribute} "{"null" if column.nullable else "not null"}"')
    return [*lines, "    }"]


def relationships(table: sa.Table) -> list[str]:
    lines = []
    for key in sorted(table.foreign_keys, key=lambda key: key.parent.name):
        column = key.parent
        many = "|o" if is_unique(column) else "}o"
        one = "o|" if column.nullable else "||"
        lines.append(f'    {table.name} {many}--{one} {key.column.table.name} : "{column.name}"')
    return lines


def is_unique(column: sa.Column) -> bool:
    """Whether the column alone identifies a row (so the relationship is one-to-one)."""
    sole_key = list(column.table.primary_key.columns) == [column]
    return sole_key or bool(column.unique)


def render(metadata: sa.MetaData) -> str:
    """The whole ``docs/schema.md``."""
    tables = [table for table in metadata.sorted_tables if not table.name.startswith("data_")]
    lines = ["```mermaid", "erDiagram"]
    for table in tables:
        lines.extend(entity(table))
    for table in tables:
        lines.extend(relationships(table))
    return HEADER + "\n".join([*lines, "```", ""])


def main() -> None:
    import webapp.models  # noqa: F401 - registers the web application's tables
    from webapp.extensions import db

    SCHEMA_DOC.write_text(render(db.metadata))
    sys.stdout.write(f"wrote {SCHEMA_DOC}\n")


if __name__ == "__main__":
    main()
