"""The API as a whole: one error shape, OpenAPI and its docs page, configuration."""

from __future__ import annotations

import re
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures import Account
from webapp import create_app
from webapp.config import DEVELOPMENT_SECRET
from webapp.errors import InsecureConfiguration

ERROR_KEYS = {"code", "status", "message", "errors"}


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        (
            "post",
            "/api/v1/auth/login",
            {"data": "{not json", "content_type": "application/json"},
            400,
        ),
        ("post", "/api/v1/auth/login", {"json": ["a", "list"]}, 422),
        ("post", "/api/v1/auth/login", {"data": "email=a", "content_type": "text/plain"}, 422),
        ("get", "/api/v1/nothing-here", {}, 404),
        ("delete", "/api/v1/auth/me", {}, 405),
        ("get", "/no-such-page", {}, 404),
    ],
)
def test_bad_requests_get_the_json_error_shape(
    client: FlaskClient, method: str, url: str, kwargs: dict, status: int
) -> None:
    response = getattr(client, method)(url, **kwargs)

    assert response.status_code == status
    assert response.is_json
    assert set(response.json) == ERROR_KEYS
    assert response.json["status"] == status


def test_an_oversized_body_is_413_json(client: FlaskClient, owner: Account) -> None:
    response = client.post(
        "/api/v1/chat/conversations/",
        data=b"x" * (2 * 1024 * 1024),
        content_type="application/json",
        headers=owner.headers,
    )

    assert response.status_code == 413
    assert set(response.json) == ERROR_KEYS


def test_the_openapi_spec_documents_every_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json

    documented = {
        (path, method) for path, operations in spec["paths"].items() for method in operations
    }
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method.lower()) in documented
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_the_docs_page_and_its_assets_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    script = client.get("/api/docs/assets/swagger-ui-bundle.js")

    assert page.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in page.data
    assert script.status_code == 200 and len(script.data) > 100_000
    script.close()


@pytest.mark.parametrize(
    ("secret", "refusal"),
    [
        ({}, "refuses SECRET_KEY: it is the development secret"),
        ({"SECRET_KEY": DEVELOPMENT_SECRET}, "refuses SECRET_KEY: it is the development secret"),
        ({"JWT_SECRET_KEY": ""}, "refuses JWT_SECRET_KEY: it is missing"),
    ],
)
def test_production_refuses_default_or_missing_secrets(
    app_config: dict, monkeypatch: pytest.MonkeyPatch, secret: dict, refusal: str
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    config = {key: value for key, value in app_config.items() if "SECRET" not in key}
    if secret:
        config |= {"SECRET_KEY": secrets.token_hex(32), "JWT_SECRET_KEY": secrets.token_hex(32)}
        config |= secret

    with pytest.raises(InsecureConfiguration, match=refusal):
        create_app({**config, "RAGKIT_ENV": "production"})


def test_production_starts_with_real_secrets(app_config: dict) -> None:
    config = {
        **app_config,
        "RAGKIT_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
    }

    assert create_app(config).config["RAGKIT_ENV"] == "production"


def test_environment_variables_configure_the_app(
    app_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_MB", "3")
    monkeypatch.setenv("CORS_ORIGINS", "https://help.example.com")
    config = {key: value for key, value in app_config.items() if key != "MAX_UPLOAD_MB"}

    app = create_app(config)
    preflight = app.test_client().options(
        "/api/v1/auth/me",
        headers={"Origin": "https://help.example.com", "Access-Control-Request-Method": "GET"},
    )

    assert app.config["MAX_UPLOAD_MB"] == 3
    assert app.config["MAX_CONTENT_LENGTH"] > 3 * 1024 * 1024
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://help.example.com"
