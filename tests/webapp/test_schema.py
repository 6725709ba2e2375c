"""The migrations create exactly the models' schema, and docs/schema.md shows it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

import webapp.models  # noqa: F401 - the tables the diagram and the comparison need
from migrations.schema_diagram import SCHEMA_DOC, render
from webapp import create_app
from webapp.extensions import db


def outside_vector_tables(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
    """Vector tables (``data_*``) are ragkit's run-time generations, not models."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return not str(table_name or "").startswith("data_")


@pytest.fixture
def migrated_app(app_config: dict, empty_database: str) -> Iterator[Flask]:
    app = create_app({**app_config, "DATABASE_URL": empty_database})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine.dispose()


def test_flask_db_upgrade_on_an_empty_database_gives_the_models_schema(
    migrated_app: Flask,
) -> None:
    with migrated_app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": outside_vector_tables, "compare_type": True},
        )
        differences = compare_metadata(context, db.metadata)
        tables = set(sa.inspect(connection).get_table_names())
        extensions = connection.execute(sa.text("SELECT extname FROM pg_extension")).scalars()

    assert differences == []
    assert "vector" in set(extensions)
    assert {"data_embeddings_1", "organizations", "message_citations", "documents"} <= tables


def test_docs_schema_md_is_up_to_date() -> None:
    assert SCHEMA_DOC.read_text() == render(db.metadata), (
        "docs/schema.md is stale: run `python -m migrations.schema_diagram`"
    )
