"""``/healthz`` says the process is up; ``/readyz`` says it can work, or why not (503)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ragkit import RagKit
from tests.outage_servers import free_port
from tests.schema_steps import migrate
from webapp import create_app
from webapp.extensions import db


def app_with(app_config: dict[str, Any], redis_url: str, kit: RagKit, **changes: Any) -> Flask:
    # The rate limiter's storage is module-level: it must keep the test Redis.
    application = create_app({**app_config, "RATELIMIT_STORAGE_URI": redis_url, **changes})
    application.extensions["ragkit"] = kit
    return application


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_healthz_answers_without_touching_the_database_or_redis(
    app_config: dict[str, Any], redis_url: str, kit: RagKit
) -> None:
    nowhere = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    broken = app_with(
        app_config, redis_url, kit, DATABASE_URL=nowhere, REDIS_URL="redis://127.0.0.1:1/0"
    )

    response = broken.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_200_when_database_redis_and_migrations_are_in_order(
    client: FlaskClient,
) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200, response.json
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }


def test_readyz_is_503_naming_an_unreachable_database(
    app_config: dict[str, Any], redis_url: str, kit: RagKit
) -> None:
    nowhere = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    application = app_with(app_config, redis_url, kit, DATABASE_URL=nowhere)

    response = application.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["code"] == "not_ready"
    assert response.json["status"] == 503
    assert set(response.json["errors"]) == {"database"}
    assert "unreachable" in response.json["errors"]["database"]
    assert response.headers["Retry-After"]


def test_readyz_is_503_within_its_timeout_when_redis_hangs(
    app_config: dict[str, Any], redis_url: str, kit: RagKit, silent_port: int
) -> None:
    application = app_with(
        app_config,
        redis_url,
        kit,
        REDIS_URL=f"redis://127.0.0.1:{silent_port}/0",
        REDIS_TIMEOUT=0.5,
    )

    started = time.monotonic()
    response = application.test_client().get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert set(response.json["errors"]) == {"redis"}
    assert elapsed < 3


@pytest.fixture
def database_behind(empty_database: str) -> str:
    """A database migrated to the revision before the newest."""
    engine = sa.create_engine(empty_database)
    migrate(engine, "upgrade", "head")
    migrate(engine, "downgrade", "-1")
    engine.dispose()
    return empty_database


def test_readyz_is_503_until_the_migrations_are_applied_and_200_after_newer_ones(
    app_config: dict[str, Any], redis_url: str, kit: RagKit, database_behind: str
) -> None:
    application = app_with(app_config, redis_url, kit, DATABASE_URL=database_behind)
    client = application.test_client()

    before = client.get("/readyz")
    upgraded = application.test_cli_runner().invoke(args=["db", "upgrade"])
    after = client.get("/readyz")
    with application.app_context():
        with db.engine.begin() as connection:  # as a newer release would leave it
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        newer = client.get("/readyz")
        db.engine.dispose()

    assert before.status_code == 503
    assert set(before.json["errors"]) == {"database"}
    assert "migration" in before.json["errors"]["database"]
    assert upgraded.exit_code == 0, upgraded.output
    assert after.status_code == 200, after.json
    assert newer.status_code == 200, newer.json
