"""Schema migrations on a database of their own: up, down and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from ragkit.migrate import alembic_config


@pytest.fixture
def fresh_engine(database_url: str) -> Iterator[sa.Engine]:
    server = sa.make_url(database_url)
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(server.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrate(engine: sa.Engine, direction: str, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


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
