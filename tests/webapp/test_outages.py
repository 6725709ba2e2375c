"""The API answers 503 with the JSON error shape while the database or Redis is down, and
recovers by itself once it is back."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ragkit import Settings
from ragkit.database import CONNECT_TIMEOUT_SECONDS, Database
from tests.fixtures import Account, AuthActions
from tests.outage_servers import PostgresServer, RedisServer
from webapp import create_app
from webapp.extensions import db


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def app_without_database(app_config: dict[str, Any]) -> Iterator[Flask]:
    url = f"postgresql+psycopg://ragkit@127.0.0.1:{closed_port()}/ragkit?connect_timeout=2"
    application = create_app({**app_config, "DATABASE_URL": url})
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/auth/login", {"email": "a@example.com", "password": "x" * 12}),
        (
            "post",
            "/api/v1/auth/register",
            {"email": "b@example.com", "password": "x" * 12, "organization": "Acme"},
        ),
    ],
)
def test_database_outage_answers_503_with_retry_after(
    app_without_database: Flask, method: str, path: str, body: dict[str, str]
) -> None:
    response = getattr(app_without_database.test_client(), method)(path, json=body)

    assert response.status_code == 503, response.data
    assert response.json["code"] == "service_unavailable"
    assert response.json["status"] == 503
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert "database" in response.json["message"]
    assert int(response.headers["Retry-After"]) > 0


@pytest.fixture
def app_without_redis(app: Flask, app_config: dict[str, Any], kit: Any) -> Iterator[Flask]:
    # The rate limiter is one extension for every app of the process and takes the storage of
    # the app built last: it keeps the session's Redis, so later tests still count their limits.
    closed = f"redis://127.0.0.1:{closed_port()}/0"
    application = create_app(
        {
            **app_config,
            "REDIS_URL": closed,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )
    application.extensions["ragkit"] = kit
    yield application
    with application.app_context():
        db.engine.dispose()


def test_redis_outage_answers_503_with_retry_after(
    app_without_redis: Flask, owner: Account
) -> None:
    response = app_without_redis.test_client().get("/api/v1/auth/me", headers=owner.headers)

    assert response.status_code == 503, response.data
    assert response.json["code"] == "service_unavailable"
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert int(response.headers["Retry-After"]) > 0


# Real outages: a PostgreSQL and a Redis of this module's own, stopped and started again under
# one app, which must answer 503 meanwhile and recover by itself.

OUTAGE_SECONDS = 3
# No request may take longer than this while a service is down.
REQUEST_BOUND_SECONDS = 10
RECOVERY_SECONDS = 30


@pytest.fixture(scope="module")
def own_services_app(
    app: Flask,
    app_config: dict[str, Any],
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """An app whose database and Redis are the module's own (rate limits stay on the session's)."""
    settings = Settings(database_url=postgres_server.url, home=tmp_path_factory.mktemp("home"))
    Database.from_settings(settings).close()  # migrated, as `flask db upgrade` would
    application = create_app(
        {
            **app_config,
            "DATABASE_URL": postgres_server.url,
            "REDIS_URL": redis_server.url,
            "RAGKIT_SETTINGS": settings,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


@dataclass
class Outcome:
    status: int
    seconds: float
    body: Any
    retry_after: str | None


def timed(
    client: FlaskClient, method: str, path: str, headers: dict[str, str], **options: Any
) -> Outcome:
    began = time.monotonic()
    response = client.open(path, method=method, headers=headers, **options)
    return Outcome(
        response.status_code,
        time.monotonic() - began,
        response.get_json(silent=True),
        response.headers.get("Retry-After"),
    )


def assert_unavailable(outcome: Outcome, service: str) -> None:
    assert outcome.status == 503, outcome
    assert outcome.body["code"] == "service_unavailable"
    assert set(outcome.body) >= {"code", "status", "message", "errors"}
    assert service in outcome.body["message"]
    assert outcome.retry_after is not None and int(outcome.retry_after) > 0
    assert outcome.seconds < REQUEST_BOUND_SECONDS


def seconds_until_answered(
    client: FlaskClient, requests: list[tuple[str, str]], headers: dict[str, str]
) -> float:
    """Ask until every request is answered 200; the seconds that took."""
    began = time.monotonic()
    while not all(timed(client, *request, headers).status == 200 for request in requests):
        assert time.monotonic() - began < RECOVERY_SECONDS, "the app did not recover"
        time.sleep(0.1)
    return time.monotonic() - began


DATABASE_REQUESTS = [("GET", "/api/v1/auth/me"), ("GET", "/api/v1/documents/")]
REDIS_REQUESTS = [("GET", "/api/v1/auth/me"), ("GET", "/api/v1/widgets/")]


def test_a_database_outage_answers_503_and_the_app_recovers_without_a_restart(
    own_services_app: Flask, postgres_server: PostgresServer
) -> None:
    client = own_services_app.test_client()
    account = AuthActions(client).register("Outage Support")
    assert all(timed(client, *r, account.headers).status == 200 for r in DATABASE_REQUESTS)

    postgres_server.stop()
    down = time.monotonic()
    during = []
    while time.monotonic() - down < OUTAGE_SECONDS:
        during += [timed(client, *request, account.headers) for request in DATABASE_REQUESTS]
        time.sleep(0.05)
    postgres_server.start()
    recovered = seconds_until_answered(client, DATABASE_REQUESTS, account.headers)

    for outcome in during:
        assert_unavailable(outcome, "database")
    print(
        f"\nweb app, database outage {OUTAGE_SECONDS} s: {len(during)} requests, all 503 "
        f"(slowest {max(o.seconds for o in during):.2f} s); all answered 200 again "
        f"{recovered:.2f} s after the database came back, no restart"
    )


def test_a_redis_outage_answers_503_and_the_app_recovers_without_a_restart(
    own_services_app: Flask, redis_server: RedisServer
) -> None:
    client = own_services_app.test_client()
    account = AuthActions(client).register("Outage Support")
    assert all(timed(client, *r, account.headers).status == 200 for r in REDIS_REQUESTS)

    redis_server.stop()
    down = time.monotonic()
    during = []
    while time.monotonic() - down < OUTAGE_SECONDS:
        during += [timed(client, *request, account.headers) for request in REDIS_REQUESTS]
        time.sleep(0.05)
    redis_server.start()
    recovered = seconds_until_answered(client, REDIS_REQUESTS, account.headers)

    assert during
    for outcome in during:
        assert_unavailable(outcome, "unavailable")
    print(
        f"\nweb app, Redis outage {OUTAGE_SECONDS} s: {len(during)} requests, all 503 "
        f"(slowest {max(o.seconds for o in during):.2f} s); all answered 200 again "
        f"{recovered:.2f} s after Redis came back, no restart"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never answers, like a hung server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def test_a_database_that_never_answers_fails_the_request_within_the_connect_timeout(
    app: Flask, app_config: dict[str, Any], silent_port: int
) -> None:
    url = f"postgresql+psycopg://ragkit@127.0.0.1:{silent_port}/ragkit"
    hung = create_app(
        {
            **app_config,
            "DATABASE_URL": url,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )
    body = {"email": "a@example.com", "password": "x" * 12}

    outcome = timed(hung.test_client(), "POST", "/api/v1/auth/login", {}, json=body)

    assert_unavailable(outcome, "database")
    assert outcome.seconds < CONNECT_TIMEOUT_SECONDS + 3
    with hung.app_context():
        db.engine.dispose()


def test_a_redis_that_never_answers_fails_the_request_after_redis_timeout(
    app: Flask, app_config: dict[str, Any], silent_port: int, owner: Account
) -> None:
    hung = create_app(
        {
            **app_config,
            "REDIS_URL": f"redis://127.0.0.1:{silent_port}/0",
            "REDIS_TIMEOUT": 0.5,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )

    outcome = timed(hung.test_client(), "GET", "/api/v1/auth/me", owner.headers)

    assert_unavailable(outcome, "unavailable")
    assert outcome.seconds < 0.5 + 1
    with hung.app_context():
        db.engine.dispose()


def test_a_request_that_finds_every_database_connection_taken_answers_503(
    app: Flask, app_config: dict[str, Any], owner: Account
) -> None:
    """As when each pooled connection is held by a request waiting on a hung database."""
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.5}
    crowded = create_app(
        {
            **app_config,
            "SQLALCHEMY_ENGINE_OPTIONS": pool,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )
    with crowded.app_context(), db.engine.connect():
        outcome = timed(crowded.test_client(), "GET", "/api/v1/documents/", owner.headers)

    assert_unavailable(outcome, "database")
    with crowded.app_context():
        db.engine.dispose()
