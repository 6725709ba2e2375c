"""Schema migrations run by hand on a database of a test's own (see the ``empty_database``
fixture): up to, or down to, a revision."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from ragkit import alembic_config


def migrate(engine: sa.Engine, direction: str, revision: str) -> None:
    """``alembic upgrade|downgrade REVISION`` on ``engine``'s database, in one transaction."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)
