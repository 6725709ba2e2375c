"""Schema migrations on a database of their own: up, down and up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.schema_steps import migrate


@pytest.fixture
def fresh_engine(empty_database: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(empty_database)
    yield engine
    engine.dispose()


def vector_columns(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        table = connection.execute(sa.text("SELECT 'data_' || name FROM vector_indexes")).scalar()
        return {column["name"] for column in sa.inspect(connection).get_columns(str(table))}


def test_vector_tables_lose_the_unused_text_search_column_and_the_downgrade_restores_it(
    fresh_engine: sa.Engine,
) -> None:
    migrate(fresh_engine, "upgrade", "head")
    assert "text_search_tsv" not in vector_columns(fresh_engine)
    assert {"text", "embedding", "metadata_", "node_id"} <= vector_columns(fresh_engine)

    migrate(fresh_engine, "downgrade", "0009")
    assert "text_search_tsv" in vector_columns(fresh_engine)

    migrate(fresh_engine, "upgrade", "head")
    assert "text_search_tsv" not in vector_columns(fresh_engine)
