"""The organizations a database holds, and finding one by its id or its name.

ragkit knows an organization only as the string in ``Document.organization_id``. The web app
keeps its organizations, named, in its ``organizations`` table (the id is a UUID, the namespace
is its text); ragkit reads that table without importing the app, and does without it where the
web app's tables are absent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ragkit.database import Database
from ragkit.errors import ConfigurationError
from ragkit.schema import Chunk, Document

WEB_ORGANIZATIONS = sa.table("organizations", sa.column("id"), sa.column("name"))


@dataclass(frozen=True)
class OrganizationSummary:
    """An organization and what its knowledge base holds; ``name`` is None outside the web app."""

    id: str
    name: str | None
    documents: int
    chunks: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "documents": self.documents,
            "chunks": self.chunks,
        }


def list_organizations(database: Database) -> list[OrganizationSummary]:
    """The web app's organizations by name, then the namespaces only documents name, by id."""
    with database.engine.connect() as connection:
        return organizations_in(connection)


def organizations_in(connection: Connection) -> list[OrganizationSummary]:
    """:func:`list_organizations` on an open connection."""
    named = web_organizations(connection)
    documents = _counts(connection, Document.organization_id)
    chunks = _counts(connection, Chunk.organization_id)
    unnamed = sorted(set(documents) - set(named))
    return [
        OrganizationSummary(key, named.get(key), documents.get(key, 0), chunks.get(key, 0))
        for key in [*named, *unnamed]
    ]


def resolve_organization(database: Database, value: str) -> str:
    """The organization id ``value`` means: an id as it is, else the one organization so named.

    A value that is neither is returned unchanged: it is a new namespace (``ragkit ingest``
    creates it).

    Raises:
        ConfigurationError: several organizations have that name.
    """
    with database.engine.connect() as connection:
        named = web_organizations(connection)
        if _is_known_id(connection, value, named):
            return _canonical(value, named)
    matches = _named(named, value)
    if len(matches) > 1:
        listed = ", ".join(f"{key} ({name})" for key, name in matches.items())
        raise ConfigurationError(
            f"{len(matches)} organizations are named {value!r}: {listed}; pass --org one of "
            f"these ids"
        )
    return next(iter(matches), value)


def is_known(database: Database, organization: str) -> bool:
    """Whether a web organization has this id, or any document is stored under it."""
    with database.engine.connect() as connection:
        return _is_known_id(connection, organization, web_organizations(connection))


def web_organizations(connection: Connection) -> dict[str, str]:
    """The web app's organizations, id to name, by name; empty without the app's tables."""
    if not sa.inspect(connection).has_table(WEB_ORGANIZATIONS.name):
        return {}
    rows = connection.execute(
        sa.select(WEB_ORGANIZATIONS.c.id, WEB_ORGANIZATIONS.c.name).order_by(
            WEB_ORGANIZATIONS.c.name, WEB_ORGANIZATIONS.c.id
        )
    )
    return {str(key): name for key, name in rows}


def _counts(connection: Connection, column: Any) -> dict[str, int]:
    rows = connection.execute(sa.select(column, sa.func.count()).group_by(column))
    return {key: count for key, count in rows}


def _is_known_id(connection: Connection, value: str, named: dict[str, str]) -> bool:
    if _canonical(value, named) in named:
        return True
    stored = sa.select(Document.id).where(Document.organization_id == value).limit(1)
    return connection.execute(stored).first() is not None


def _canonical(value: str, named: dict[str, str]) -> str:
    """A web organization's id however it was written (upper case, braces), else ``value``."""
    try:
        key = str(uuid.UUID(value))
    except ValueError:
        return value
    return key if key in named else value


def _named(named: dict[str, str], value: str) -> dict[str, str]:
    """The organizations named ``value``: exactly if one is, else ignoring case and spaces."""
    exact = {key: name for key, name in named.items() if name == value}
    if exact:
        return exact
    wanted = value.strip().casefold()
    return {key: name for key, name in named.items() if name.strip().casefold() == wanted}
