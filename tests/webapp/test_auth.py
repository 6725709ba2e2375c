"""Registration, sign-in, tokens (refresh, expiry, revocation) and who-am-I."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from werkzeug.test import TestResponse

from tests.fixtures import PASSWORD, Account, AuthActions


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_creates_an_owner_of_a_new_organization(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "Ada@Example.com", "password": PASSWORD, "organization": "Analytical"},
    )

    assert response.status_code == 202
    assert response.json["email"] == "ada@example.com"
    assert "token" not in str(response.json) and "password" not in response.json
    login = client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    user = client.get("/api/v1/auth/me", headers=bearer(login.json["access_token"])).json
    assert user["email"] == "ada@example.com"
    assert user["role"] == "owner"
    assert user["organization"]["name"] == "Analytical"
    assert "password" not in user and "password_hash" not in user


def test_registering_a_taken_email_answers_as_a_new_one_and_changes_nothing(
    client: FlaskClient, owner: Account
) -> None:
    fresh = client.post(
        "/api/v1/auth/register",
        json={"email": "fresh-address@example.com", "password": PASSWORD, "organization": "New"},
    )
    taken = client.post(
        "/api/v1/auth/register",
        json={"email": owner.email.upper(), "password": "another password", "organization": "X"},
    )

    assert taken.status_code == fresh.status_code == 202
    assert set(taken.json) == set(fresh.json)
    assert taken.json["message"] == fresh.json["message"]
    assert taken.json["email"] == owner.email
    # The account keeps its password and its organization.
    assert login(client, owner.email, "another password").status_code == 401
    signed_in = login(client, owner.email, PASSWORD)
    me = client.get("/api/v1/auth/me", headers=bearer(signed_in.json["access_token"]))
    assert me.json["organization"]["id"] == owner.organization_id


def login(client: FlaskClient, email: str, password: str) -> TestResponse:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD, "organization": "X"}, "email"),
        ({"email": "not-an-email", "password": PASSWORD, "organization": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "organization": "X"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD}, "organization"),
        ({"email": "a@example.com", "password": 12345678, "organization": "X"}, "password"),
    ],
)
def test_register_rejects_invalid_bodies_field_by_field(
    client: FlaskClient, body: dict, field: str
) -> None:
    response = client.post("/api/v1/auth/register", json=body)

    assert response.status_code == 422
    assert set(response.json) >= {"code", "status", "message", "errors"}
    assert field in response.json["errors"]["json"]


def test_login_returns_tokens_that_open_me(client: FlaskClient, owner: Account) -> None:
    login = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})

    assert login.status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(login.json["access_token"]))
    assert me.status_code == 200
    assert me.json["email"] == owner.email
    assert me.json["organization"]["id"] == owner.organization_id


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "OWNER", "password": "wrong password"},
    ],
)
def test_login_with_wrong_credentials_is_401(
    client: FlaskClient, owner: Account, credentials: dict
) -> None:
    if credentials["email"] == "OWNER":
        credentials = {**credentials, "email": owner.email}

    response = client.post("/api/v1/auth/login", json=credentials)

    assert response.status_code == 401
    assert response.json["code"] == "invalid_credentials"


def test_me_without_a_token_is_401_in_the_error_shape(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/me")

    assert response.status_code == 401
    assert response.json["code"] == "missing_token"
    assert response.json["status"] == 401
    assert response.json["errors"] == {}


def test_a_malformed_token_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer("not.a.jwt"))

    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"


def test_an_expired_token_is_401(app: Flask, client: FlaskClient, owner: Account) -> None:
    with app.app_context():
        expired = create_access_token(owner.user_id, expires_delta=timedelta(seconds=-1))

    response = client.get("/api/v1/auth/me", headers=bearer(expired))

    assert response.status_code == 401
    assert response.json["code"] == "token_expired"


def test_refresh_gives_a_new_access_token(client: FlaskClient, owner: Account) -> None:
    response = client.post("/api/v1/auth/refresh", headers=bearer(owner.refresh_token))

    assert response.status_code == 200
    assert (
        client.get("/api/v1/auth/me", headers=bearer(response.json["access_token"])).status_code
        == 200
    )


def test_an_access_token_cannot_refresh(client: FlaskClient, owner: Account) -> None:
    response = client.post("/api/v1/auth/refresh", headers=owner.headers)

    assert response.status_code == 401


def test_a_refresh_token_cannot_call_the_api(client: FlaskClient, owner: Account) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer(owner.refresh_token))

    assert response.status_code == 401


def test_logout_revokes_the_token(client: FlaskClient, owner: Account, token_store) -> None:
    assert client.post("/api/v1/auth/logout", headers=owner.headers).status_code == 204

    response = client.get("/api/v1/auth/me", headers=owner.headers)

    assert response.status_code == 401
    assert response.json["code"] == "token_revoked"
    assert len(token_store.keys("ragkit:revoked-token:*")) == 1


def test_logout_with_the_refresh_token_stops_refreshing(
    client: FlaskClient, owner: Account
) -> None:
    assert (
        client.post("/api/v1/auth/logout", headers=bearer(owner.refresh_token)).status_code == 204
    )

    response = client.post("/api/v1/auth/refresh", headers=bearer(owner.refresh_token))

    assert response.status_code == 401
    assert response.json["code"] == "token_revoked"


def test_a_deleted_users_token_is_401(
    client: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    member = auth.invite(owner)
    client.delete(f"/api/v1/organizations/members/{member.user_id}", headers=owner.headers)

    response = client.get("/api/v1/auth/me", headers=member.headers)

    assert response.status_code == 401
    assert response.json["code"] == "unknown_user"
