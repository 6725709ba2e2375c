"""Apply the project's Alembic migrations (the same ones ``flask db upgrade`` runs)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from ragkit.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works: it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 7_352_041


def alembic_config() -> Config:
    """An Alembic configuration pointing at ``migrations/``."""
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise DatabaseError(f"migrations not found in {MIGRATIONS_DIR}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def is_current(engine: Engine, config: Config) -> bool:
    """Whether the database is already at the newest revision."""
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; concurrent callers wait for each other."""
    config = alembic_config()
    if revision == "head" and is_current(engine, config):
        return
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
