"""What the web, worker and browser tests share: the test app's configuration, accounts signed
up through the API, uploads, and what is stored for a document.

A pytest plugin (``tests/conftest.py`` loads it): ``auth``, ``owner`` and ``upload`` use the
``client`` fixture of the directory whose test asks for them (the inline app's in
``tests/webapp``, the queueing app's in ``tests/workers``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ragkit import Chunk, Document, RagKit
from ragkit.index import active_index

JWT_TEST_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
PASSWORD = "correct horse battery staple"


def app_config_for(
    database_url: str, redis_url: str, kit: RagKit, media_root: Path, **overrides: Any
) -> dict[str, Any]:
    """A test app's configuration on the session's database and ``RagKit`` settings."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "JWT_SECRET_KEY": JWT_TEST_SECRET,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(hours=1),
        "MEDIA_ROOT": str(media_root),
        "RAGKIT_SETTINGS": kit.settings,
        **overrides,
    }


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The web app's Redis database (``WEBAPP_TEST_REDIS_URL``; default: database 11)."""
    return os.environ.get("WEBAPP_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


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


@dataclass
class Library:
    """An organization's account and its processed documents (API bodies, by file name)."""

    account: Account
    documents: dict[str, dict[str, Any]]


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def owner(auth: AuthActions) -> Account:
    return auth.register("Acme Support")


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


def stored_rows(kit: RagKit, document_id: uuid.UUID | str) -> dict[str, Any]:
    """The document's status and what is stored for it: chunks, chunk indexes, vector rows."""
    document_id = uuid.UUID(str(document_id))
    with kit.database.sessions() as session:
        document = session.get(Document, document_id)
        assert document is not None
        indexes = list(
            session.scalars(sa.select(Chunk.chunk_index).where(Chunk.document_id == document_id))
        )
        table = active_index(session, document.organization_id).table_name
        vectors = session.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE metadata_->>'ref_doc_id' = :id"),
            {"id": str(document_id)},
        ).scalar_one()
        return {
            "status": document.status,
            "error": document.processing_error,
            "chunk_count": document.chunk_count,
            "chunks": len(indexes),
            "distinct_chunk_indexes": len(set(indexes)),
            "vectors": vectors,
        }
