"""The API answers 503 with the JSON error shape while the database cannot be reached."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.webapp.conftest import Account
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
