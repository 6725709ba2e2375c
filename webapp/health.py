"""``/healthz`` and ``/readyz``: for load balancers, orchestrators and the compose health checks.

``/healthz`` answers 200 while the process serves requests, touching nothing else: restart the
process when it fails. ``/readyz`` answers 200 when this process can do its work — the database
answers, Redis answers and the schema is at the newest migration of this code — and 503 with
the JSON error shape otherwise (``errors`` names each failed check): send it no traffic until
then. Every check is bounded by the connection timeouts (database ``connect_timeout`` 5 s,
``REDIS_TIMEOUT``).
"""

from __future__ import annotations

import functools
import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError

from ragkit.migrate import alembic_config
from webapp.errors import DATABASE_OUTAGES, error_response
from webapp.extensions import db, redis_client

blp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
OK = "ok"


@blp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify({"status": OK})


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database and Redis answer and the migrations are current (else 503)."""
    checks = {"database": database(), "redis": redis()}
    failed = {name: problem for name, problem in checks.items() if problem != OK}
    if not failed:
        return jsonify({"status": "ready", "checks": checks}), 200
    log.warning("not ready: %s", failed)
    response, status = error_response(
        503, "Not ready: " + "; ".join(failed.values()), code="not_ready", errors=failed
    )
    response.headers["Retry-After"] = "5"
    return response, status


def database() -> str:
    """``ok``, or why the database cannot be used (unreachable, migrations not applied)."""
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except DATABASE_OUTAGES as error:
        return f"the database is unreachable ({type(error).__name__})"
    if current != newest_revisions():
        shown = ", ".join(sorted(current)) or "none"
        return f"the database is at migration {shown}, not {', '.join(newest_revisions())}"
    return OK


def redis() -> str:
    try:
        redis_client.connection.ping()
    except RedisError as error:
        return f"Redis is unreachable ({type(error).__name__})"
    return OK


@functools.cache
def newest_revisions() -> frozenset[str]:
    """The heads of this code's migrations (read once: the files do not change under it)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
