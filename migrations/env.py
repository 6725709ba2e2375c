"""Alembic environment shared by ragkit (which passes a connection) and Flask-Migrate."""

from __future__ import annotations

import logging
from logging.config import fileConfig
from typing import Any

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Vector tables are generations managed by ragkit.index, not models: ignore them."""
    if type_ == "table" and name is not None and name.startswith("data_"):
        return False
    table = getattr(obj, "table", None)
    return not (table is not None and str(table.name).startswith("data_"))


def target_metadata() -> Any:
    try:
        from flask import current_app

        return current_app.extensions["migrate"].db.metadata
    except (ImportError, RuntimeError, KeyError):
        from ragkit.schema import Base

        return Base.metadata


def run_with(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        include_object=include_object,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    from flask import current_app

    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as flask_connection:
        run_with(flask_connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: they need the vector DDL")
run_migrations_online()
