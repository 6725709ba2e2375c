"""Web fixtures: the app on the session's test database and model, a real Redis, accounts.

Redis runs at ``WEBAPP_TEST_REDIS_URL`` (default: database 11 of the local server), emptied
before and after every test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ragkit import RagKit
from webapp import create_app
from webapp.extensions import db

JWT_TEST_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("WEBAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


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
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "JWT_SECRET_KEY": JWT_TEST_SECRET,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "MAX_UPLOAD_MB": 1,
        "RAGKIT_SETTINGS": kit.settings,
    }


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


@dataclass
class Account:
    """A registered user and the tokens they signed in with."""

    email: str
    password: str
    body: dict[str, Any]

    @property
    def access_token(self) -> str:
        return self.body["access_token"]

    @property
    def refresh_token(self) -> str:
        return self.body["refresh_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def user_id(self) -> str:
        return self.body["user"]["id"]

    @property
    def organization_id(self) -> str:
        return self.body["user"]["organization"]["id"]


class AuthActions:
    """Registers organizations and invites members through the API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, organization: str = "Acme Support") -> Account:
        email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
        response = self.client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "organization": organization},
        )
        assert response.status_code == 202, response.json
        return self.sign_in(email)

    def invite(self, owner: Account, role: str = "member") -> Account:
        email = f"member-{uuid.uuid4().hex[:10]}@example.com"
        invited = self.client.post(
            "/api/v1/organizations/members",
            json={"email": email, "password": PASSWORD, "role": role},
            headers=owner.headers,
        )
        assert invited.status_code == 201, invited.json
        return self.sign_in(email)

    def sign_in(self, email: str) -> Account:
        """Log in as ``email``: its tokens and, as ``user``, what /me says of it."""
        tokens = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json
        me = self.client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        return Account(email, PASSWORD, {**tokens, "user": me.json})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def owner(auth: AuthActions) -> Account:
    return auth.register("Acme Support")


@pytest.fixture
def other_owner(auth: AuthActions) -> Account:
    """The owner of a second organization, for isolation tests."""
    return auth.register("Globex Help Desk")


@pytest.fixture
def upload(client: FlaskClient) -> Callable[..., TestResponse]:
    """POST a file to /api/v1/documents/ as an account, with optional form fields."""

    def post(account: Account, path: Path, **form: str) -> TestResponse:
        with path.open("rb") as handle:
            return client.post(
                "/api/v1/documents/",
                data={**form, "file": (handle, path.name)},
                headers=account.headers,
                content_type="multipart/form-data",
            )

    return post


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


@dataclass
class Library:
    account: Account
    documents: dict[str, dict[str, Any]]
