"""Web fixtures: the app on the session's test database and model, a real Redis, accounts.

Redis runs at ``WEBAPP_TEST_REDIS_URL`` (default: database 11 of the local server), emptied
before and after every test. Accounts and uploads come from :mod:`tests.fixtures`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from ragkit import RagKit
from tests.fixtures import Account, AuthActions, Library, app_config_for
from webapp import create_app
from webapp.extensions import db


@pytest.fixture(autouse=True)
def token_store(redis_url: str) -> Iterator[redis.Redis]:
    """The Redis database of revoked tokens, empty at the start and end of every test."""
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture(scope="session")
def app_config(
    database_url: str, redis_url: str, kit: RagKit, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    media_root = tmp_path_factory.mktemp("media")
    return app_config_for(database_url, redis_url, kit, media_root, MAX_UPLOAD_MB=1)


@pytest.fixture(scope="session")
def app(app_config: dict[str, Any], kit: RagKit) -> Iterator[Flask]:
    """One app for the session, sharing the session's ``RagKit`` (the model loads once).

    Tests isolate themselves by registering their own organizations.
    """
    application = create_app(app_config)
    application.extensions["ragkit"] = kit
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def other_owner(auth: AuthActions) -> Account:
    """The owner of a second organization, for isolation tests."""
    return auth.register("Globex Help Desk")


@pytest.fixture(scope="session")
def library(app: Flask, example_docs: Path) -> Library:
    """An organization with the troubleshooting guide and release notes processed, read-only."""
    client = app.test_client()
    account = AuthActions(client).register("Library")
    documents = {}
    for name in ("troubleshooting.pdf", "release-notes.txt"):
        with (example_docs / name).open("rb") as handle:
            response = client.post(
                "/api/v1/documents/",
                data={"file": (handle, name)},
                headers=account.headers,
                content_type="multipart/form-data",
            )
        assert response.status_code == 201 and response.json["status"] == "ready", response.json
        documents[name] = response.json
    return Library(account, documents)
