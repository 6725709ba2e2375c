"""Organizations share a generation's vector table; one's results must not depend on another's."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ragkit import RagKit, Settings
from ragkit.database import Database
from ragkit.index import create_generation, switch_organization
from ragkit.schema import IndexStatus

DIMENSIONS = 16  # a small generation of its own: the graph is cheap to build
# More rows nearer the question than pgvector's hnsw.max_scan_tuples (20,000): a filtered
# graph walk gives up before it reaches the tenant's rows.
NEIGHBOUR_VECTORS = 24_000
TENANT_CHUNKS = 3_000  # a tenant the planner would serve from the shared HNSW graph

TENANT_ROWS_SQL = """
WITH document AS (
    INSERT INTO documents (id, organization_id, title, source, content_type, content_hash,
                           status, chunk_count)
    VALUES (gen_random_uuid(), :organization, 'Notes', 'notes.txt', 'text/plain', 'x',
            'ready', :count)
    RETURNING id
), chunk AS (
    INSERT INTO chunks (id, document_id, organization_id, chunk_index, content, content_hash,
                        start_char, end_char, term_count)
    SELECT gen_random_uuid(), document.id, :organization, n, 'note ' || n, md5(n::text), 0, 9, 2
    FROM document, generate_series(0, :count - 1) AS n
    RETURNING id, document_id, chunk_index
)
INSERT INTO {table} (text, metadata_, node_id, embedding)
SELECT 'note ' || chunk_index,
       jsonb_build_object('organization_id', CAST(:organization AS text),
                          'ref_doc_id', document_id::text),
       id::text,
       CAST(ARRAY(SELECT random() - 0.5 + 0 * chunk_index FROM generate_series(1, :dimensions))
            AS vector)
FROM chunk
"""
# Another organization's vectors, every one nearer the question than any of the tenant's.
NEIGHBOUR_ROWS_SQL = """
INSERT INTO {table} (text, metadata_, node_id, embedding)
SELECT 'near', jsonb_build_object('organization_id', CAST(:organization AS text)),
       gen_random_uuid()::text,
       CAST(:question AS vector)
       + CAST(ARRAY(SELECT (random() - 0.5) * 0.01 + 0 * n FROM generate_series(1, :dimensions))
              AS vector)
FROM generate_series(1, :count) AS n
"""


@pytest.fixture
def tenant_kit(empty_database: str, tmp_path: Path) -> Iterator[RagKit]:
    """A kit on a database of its own: the neighbour's many vectors stay out of other tests."""
    settings = Settings(database_url=empty_database, home=tmp_path)
    with RagKit(settings, Database.from_settings(settings)) as kit:
        yield kit


def dense_ids(kit: RagKit, organization: str, question: list[float]) -> list[uuid.UUID]:
    found = kit.retrieve("question", organization, mode="dense", top_k=10, query_embedding=question)
    return [chunk.chunk_id for chunk in found]


def test_dense_results_stay_the_same_when_another_organization_adds_many_vectors(
    tenant_kit: RagKit,
) -> None:
    tenant, neighbour = "tenant", "neighbour"
    with tenant_kit.database.sessions() as session:
        index = create_generation(session, "test:tenants", DIMENSIONS, status=IndexStatus.ACTIVE)
        for organization in (tenant, neighbour):
            switch_organization(session, organization, index)
        session.execute(sa.text("SELECT setseed(0.13)"))
        session.execute(
            sa.text(TENANT_ROWS_SQL.format(table=index.table_name)),
            {"organization": tenant, "count": TENANT_CHUNKS, "dimensions": DIMENSIONS},
        )
        session.commit()
    chooser = random.Random(13)
    question = [chooser.uniform(-1, 1) for _ in range(DIMENSIONS)]
    before = dense_ids(tenant_kit, tenant, question)

    with tenant_kit.database.sessions() as session:
        session.execute(
            sa.text(NEIGHBOUR_ROWS_SQL.format(table=index.table_name)),
            {
                "organization": neighbour,
                "question": str(question),
                "count": NEIGHBOUR_VECTORS,
                "dimensions": DIMENSIONS,
            },
        )
        session.commit()
    with tenant_kit.database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            sa.text(f"ANALYZE {index.table_name}")  # as autovacuum soon would
        )

    assert len(before) == 10
    assert dense_ids(tenant_kit, tenant, question) == before
