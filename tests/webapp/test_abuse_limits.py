"""Abuse limits: failed sign-ins per account and address, registrations, refreshes, uploads and
questions per user, each answered 429 with ``Retry-After`` in the JSON error shape."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import PASSWORD, Account, AuthActions
from tests.webapp.console_helpers import csrf_token
from webapp import create_app
from webapp.extensions import db

LOW_LIMITS = {
    "LOGIN_RATE_LIMIT_ACCOUNT": "3 per minute",
    "LOGIN_RATE_LIMIT_ADDRESS": "5 per minute",
    "REGISTRATION_RATE_LIMIT": "2 per minute",
    "REFRESH_RATE_LIMIT": "2 per minute",
    "UPLOAD_RATE_LIMIT": "2 per minute",
    "CHAT_RATE_LIMIT": "2 per minute",
}


@pytest.fixture
def limited_app(app: Flask, app_config: dict[str, Any], kit: Any) -> Iterator[Flask]:
    """The app with low limits, counting in the session's Redis (emptied around every test)."""
    application = create_app(
        {
            **app_config,
            **LOW_LIMITS,
            "RATELIMIT_STORAGE_URI": app.config["RATELIMIT_STORAGE_URI"],
        }
    )
    application.extensions["ragkit"] = kit
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def limited(limited_app: Flask) -> FlaskClient:
    return limited_app.test_client()


def assert_limited(response: TestResponse, words: str) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert response.json["code"] == "too_many_requests"
    assert response.json["status"] == 429
    assert words in response.json["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 60


def login(client: FlaskClient, email: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- sign-in -------------------------------------------------------------------------------------


def test_failed_logins_on_one_account_are_limited_even_for_the_right_password(
    limited: FlaskClient, owner: Account
) -> None:
    failures = [login(limited, owner.email, f"guess {n}", f"10.0.1.{n}") for n in range(3)]

    locked = login(limited, owner.email, PASSWORD, "10.0.1.9")

    assert [response.status_code for response in failures] == [401] * 3
    assert_limited(locked, "account")
    assert login(limited, f"other-{owner.email}", "guess", "10.0.1.9").status_code == 401


def test_successful_logins_never_count(limited: FlaskClient, owner: Account) -> None:
    responses = [login(limited, owner.email, PASSWORD) for _ in range(8)]

    assert [response.status_code for response in responses] == [200] * 8


def test_failed_logins_from_one_address_are_limited_across_accounts(
    limited: FlaskClient, owner: Account
) -> None:
    failures = [login(limited, f"nobody-{n}@example.com", "guess", "10.0.2.1") for n in range(5)]

    refused = login(limited, owner.email, PASSWORD, "10.0.2.1")

    assert [response.status_code for response in failures] == [401] * 5
    assert_limited(refused, "network")
    assert login(limited, owner.email, PASSWORD, "10.0.2.2").status_code == 200


def test_the_console_sign_in_shares_the_logins_account_limit(
    limited: FlaskClient, owner: Account
) -> None:
    api_failures = [login(limited, owner.email, f"guess {n}", f"10.0.3.{n}") for n in range(2)]
    form = {"email": owner.email, "password": "guess", "csrf_token": csrf_token(limited)}
    console_failure = limited.post("/console/sign-in", data=form)
    form["password"] = PASSWORD

    refused = limited.post("/console/sign-in", data=form)

    assert [response.status_code for response in api_failures] == [401, 401]
    assert console_failure.status_code == 401
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert limited.get("/console/sign-in").status_code == 200  # the form itself still shows


# --- registration, refresh ----------------------------------------------------------------------


def register(client: FlaskClient, address: str) -> TestResponse:
    return client.post(
        "/api/v1/auth/register",
        json={
            "email": f"reg-{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
            "organization": "Registered",
        },
        environ_base={"REMOTE_ADDR": address},
    )


def test_registrations_are_limited_per_address(limited: FlaskClient) -> None:
    accepted = [register(limited, "10.0.4.1") for _ in range(2)]

    refused = register(limited, "10.0.4.1")

    assert [response.status_code for response in accepted] == [202, 202]
    assert_limited(refused, "registrations")
    assert register(limited, "10.0.4.2").status_code == 202


def test_refreshes_are_limited_per_user(
    limited: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    refreshed = [
        limited.post("/api/v1/auth/refresh", headers=bearer(owner.refresh_token)) for _ in range(2)
    ]
    again = auth.sign_in(owner.email)  # a second refresh token of the same user

    refused = limited.post("/api/v1/auth/refresh", headers=bearer(again.refresh_token))

    assert [response.status_code for response in refreshed] == [200, 200]
    assert_limited(refused, "refreshes")


# --- uploads and questions ----------------------------------------------------------------------


def upload(client: FlaskClient, account: Account, n: int) -> TestResponse:
    return client.post(
        "/api/v1/documents/",
        data={"file": (io.BytesIO(f"Plan notes number {n}.".encode()), f"notes-{n}.txt")},
        headers=account.headers,
        content_type="multipart/form-data",
    )


def test_uploads_are_limited_per_user(
    limited: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    member = auth.invite(owner)
    uploaded = [upload(limited, owner, n) for n in range(2)]

    refused = upload(limited, owner, 3)

    assert [response.status_code for response in uploaded] == [201, 201]
    assert_limited(refused, "uploads")
    assert upload(limited, member, 4).status_code == 201
    listed = limited.get("/api/v1/documents/", headers=owner.headers).json
    assert listed["total"] == 3  # the refused upload stored nothing


def test_questions_are_limited_per_user_across_conversations(
    limited: FlaskClient, owner: Account
) -> None:
    def conversation() -> str:
        created = limited.post("/api/v1/chat/conversations/", json={}, headers=owner.headers)
        return f"/api/v1/chat/conversations/{created.json['id']}/messages"

    first, second = conversation(), conversation()
    asked = [
        limited.post(f"{first}/", json={"content": f"Question {n}?"}, headers=owner.headers)
        for n in range(2)
    ]

    refused = limited.post(f"{second}/", json={"content": "Hello?"}, headers=owner.headers)
    streamed = limited.post(f"{second}/stream", json={"content": "Hi?"}, headers=owner.headers)

    assert [response.status_code for response in asked] == [201, 201]
    assert_limited(refused, "questions")
    assert_limited(streamed, "questions")
    messages = limited.get(f"{second}/", headers=owner.headers).json
    assert messages == []


def test_the_429_is_documented_on_every_limited_operation(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]

    limited = [
        paths["/api/v1/auth/login"]["post"],
        paths["/api/v1/auth/register"]["post"],
        paths["/api/v1/auth/refresh"]["post"],
        paths["/api/v1/documents/"]["post"],
        paths["/api/v1/chat/conversations/{conversation_id}/messages/"]["post"],
        paths["/api/v1/chat/conversations/{conversation_id}/messages/stream"]["post"],
    ]

    assert all("429" in operation["responses"] for operation in limited)


@pytest.mark.parametrize("setting", list(LOW_LIMITS))
def test_an_unreadable_limit_is_refused_at_start(app_config: dict, setting: str) -> None:
    from ragkit import ConfigurationError

    with pytest.raises(ConfigurationError, match=setting):
        create_app({**app_config, setting: "lots"})


def test_the_limits_are_read_from_the_environment(
    app_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_RATE_LIMIT_ACCOUNT", "7 per minute; 70 per day")
    monkeypatch.setenv("CHAT_RATE_LIMIT", "9 per second")

    config = create_app(app_config).config

    assert config["LOGIN_RATE_LIMIT_ACCOUNT"] == "7 per minute; 70 per day"
    assert config["CHAT_RATE_LIMIT"] == "9 per second"
