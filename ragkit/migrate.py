"""Apply the project's Alembic migrations (the same ones ``flask db upgrade`` runs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ragkit.errors import DatabaseError

if TYPE_CHECKING:  # Alembic is imported only when a database is not current
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works: it only has to be the same in every process that migrates.
_MIGRATION_LOCK = 7_352_041


_REVISION = re.compile(r"^(down_revision|revision)(?:\s*:[^=]+)?\s*=\s*(.+)$", re.MULTILINE)


def alembic_config() -> Config:
    """An Alembic configuration pointing at ``migrations/``."""
    from alembic.config import Config

    if not (MIGRATIONS_DIR / "env.py").exists():
        raise DatabaseError(f"migrations not found in {MIGRATIONS_DIR}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def newest_revision() -> str | None:
    """The head of ``migrations/versions``, read from the files (None unless one plain head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {match[1]: match[2].strip() for match in _REVISION.finditer(path.read_text())}
        revision, parent = found.get("revision", ""), found.get("down_revision", "None")
        if not re.fullmatch(r"['\"][\w-]+['\"]", revision):
            return None
        revisions.add(revision.strip("'\""))
        if parent != "None":
            if not re.fullmatch(r"['\"][\w-]+['\"]", parent):
                return None  # a merge: leave it to Alembic
            parents.add(parent.strip("'\""))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def stamped_revision(engine: Engine) -> str | None:
    """The revision the database says it is at (None before the first migration)."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return rows[0][0] if len(rows) == 1 else None


def at_newest_revision(engine: Engine) -> bool:
    """Whether the database is stamped with the newest migration file's revision."""
    newest = newest_revision()
    return newest is not None and stamped_revision(engine) == newest


def is_current(engine: Engine, config: Config) -> bool:
    """Whether the database is already at the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``; concurrent callers wait for each other.

    A database already at head is recognised without loading Alembic (a second saved on every
    CLI command).
    """
    if revision == "head" and at_newest_revision(engine):
        return
    from alembic import command

    config = alembic_config()
    if revision == "head" and is_current(engine, config):
        return
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
