"""``/healthz`` and ``/readyz``: for load balancers, orchestrators and the compose health checks.

``/healthz`` answers 200 while the process serves requests, touching nothing else: restart the
process when it fails. ``/readyz`` answers 200 when this process can do its work — the database
answers, Redis answers and the schema is at the newest migration of this code — and 503 with
the JSON error shape otherwise (``errors`` names each failed check): send it no traffic until
then. A database migrated by a newer release (a revision this code does not know) counts as
current, so the processes of the previous release stay ready during an upgrade. Every check is
bounded by the connection timeouts (database ``connect_timeout`` 5 s, ``REDIS_TIMEOUT``).
"""

from __future__ import annotations

import functools
import logging

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError

from ragkit import alembic_config
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
    behind = sorted(revision for revision in current if is_older(revision))
    if behind or not current:
        shown = ", ".join(behind) or "none"
        return f"the database is at migration {shown}, not {', '.join(sorted(newest()))}"
    return OK


def is_older(revision: str) -> bool:
    """A revision of this code other than its newest. One this code does not know is newer: a
    newer release migrated first (its migrations keep the previous release working)."""
    if revision in newest():
        return False
    try:
        return scripts().get_revision(revision) is not None
    except CommandError:
        return False


def redis() -> str:
    try:
        redis_client.connection.ping()
    except RedisError as error:
        return f"Redis is unreachable ({type(error).__name__})"
    return OK


@functools.cache
def scripts() -> ScriptDirectory:
    """This code's migrations (read once: the files do not change under a running process)."""
    return ScriptDirectory.from_config(alembic_config())


def newest() -> frozenset[str]:
    return frozenset(scripts().get_heads())
