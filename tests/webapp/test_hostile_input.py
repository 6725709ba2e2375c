"""Input meant to break the server gets a 4xx with the JSON error shape, never a 500."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import PASSWORD, Account

HUGE = 9223372036854775807


def assert_error(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.json
    assert set(body) >= {"code", "status", "message", "errors"}
    assert body["status"] == status
    return body


# --- NUL bytes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/auth/login", {"email": "a\x00@example.com", "password": PASSWORD}),
        (
            "post",
            "/api/v1/auth/register",
            {"email": "n@example.com", "password": PASSWORD, "organization": "Ac\x00me"},
        ),
        ("post", "/api/v1/chat/conversations", {"title": "\x00"}),
        ("post", "/api/v1/widgets/", {"name": "Help", "allowed_origins": ["https://a\x00.com"]}),
        ("patch", "/api/v1/organizations/", {"name": "x\x00y"}),
        ("post", "/api/v1/chat/conversations", {"ti\x00tle": "a key with NUL"}),
    ],
)
def test_a_nul_byte_in_a_json_field_is_400(
    client: FlaskClient, owner: Account, method: str, path: str, body: dict[str, Any]
) -> None:
    response = getattr(client, method)(path, json=body, headers=owner.headers)

    assert "NUL" in assert_error(response, 400)["message"]


@pytest.mark.parametrize(
    "query", ["q=ab%00cd", "status=ready%00", "page=1&x%00=1", "per_page=2%00"]
)
def test_a_nul_byte_in_the_query_string_is_400(
    client: FlaskClient, owner: Account, query: str
) -> None:
    response = client.get(f"/api/v1/documents/?{query}", headers=owner.headers)

    assert_error(response, 400)


def test_a_nul_byte_in_an_uploaded_file_name_is_400_and_stores_nothing(
    app: Flask, client: FlaskClient, owner: Account
) -> None:
    response = client.post(
        "/api/v1/documents/",
        data={"file": (io.BytesIO(b"Plain text about plans."), "pla\x00ns.txt")},
        headers=owner.headers,
        content_type="multipart/form-data",
    )

    assert_error(response, 400)
    listed = client.get("/api/v1/documents/", headers=owner.headers).json
    assert listed["total"] == 0


# --- numbers out of range ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [f"page={HUGE}", f"page={HUGE * 10}", "page=1000001", f"per_page={HUGE}", "per_page=101"],
)
@pytest.mark.parametrize(
    "path", ["/api/v1/documents/", "/api/v1/chat/conversations", "/api/v1/handoffs/"]
)
def test_page_numbers_out_of_range_are_422(
    client: FlaskClient, owner: Account, path: str, query: str
) -> None:
    response = client.get(f"{path}?{query}", headers=owner.headers)

    assert_error(response, 422)


def test_the_last_allowed_page_is_an_empty_page(client: FlaskClient, owner: Account) -> None:
    response = client.get("/api/v1/documents/?page=1000000&per_page=100", headers=owner.headers)

    assert response.status_code == 200, response.json
    assert response.json["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"chunk_size": 10**30},
        {"chunk_size": HUGE},
        {"chunk_size": 8193},
        {"batch_size": 10**30},
        {"chunk_size": 1e308},
    ],
)
def test_huge_reindex_numbers_are_422(client: FlaskClient, owner: Account, body: dict) -> None:
    response = client.post("/api/v1/reindex/", json=body, headers=owner.headers)

    assert_error(response, 422)


# --- embedding models ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["hf:/etc", "hf:/no/such/path", "hf:../../etc/passwd", "local:/tmp", "openai:gpt-x"]
)
def test_reindex_only_switches_to_allowed_embedding_models(
    client: FlaskClient, owner: Account, model: str
) -> None:
    response = client.post("/api/v1/reindex/", json={"embed_model": model}, headers=owner.headers)

    body = assert_error(response, 422)
    message = str(body["errors"])
    assert "Not an allowed embedding model" in message
    assert "exist" not in message.lower() and "No such file" not in message


def test_existing_and_missing_paths_get_the_same_refusal(
    client: FlaskClient, owner: Account
) -> None:
    answers = [
        client.post("/api/v1/reindex/", json={"embed_model": model}, headers=owner.headers).json
        for model in ("hf:/etc", "hf:/no/such/directory")
    ]

    assert answers[0]["errors"] == answers[1]["errors"]


def test_models_listed_in_the_setting_are_allowed(app_config: dict[str, Any], kit: Any) -> None:
    from webapp import create_app
    from webapp.config import allowed_embed_models

    listed = create_app({**app_config, "RAGKIT_ALLOWED_EMBED_MODELS": " hf:org/model-a, hf:b ,"})

    allowed = allowed_embed_models(listed.config)
    assert {"hf:org/model-a", "hf:b", kit.settings.embed_model} <= allowed
    assert "" not in allowed


# --- JSON nesting and methods --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 400_000])
def test_json_nested_absurdly_deep_is_400(client: FlaskClient, owner: Account, depth: int) -> None:
    body = "[" * depth + "]" * depth

    response = client.post(
        "/api/v1/chat/conversations",
        data=body,
        content_type="application/json",
        headers=owner.headers,
    )

    assert "nested" in assert_error(response, 400)["message"]


def test_a_deep_but_parseable_body_is_validated_normally(
    client: FlaskClient, owner: Account
) -> None:
    body = '{"title": ' + "[" * 500 + "]" * 500 + "}"

    response = client.post(
        "/api/v1/chat/conversations",
        data=body,
        content_type="application/json",
        headers=owner.headers,
    )

    assert_error(response, 422)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/api/v1/auth/login", {"POST"}),
        ("delete", "/api/v1/documents/", {"GET", "POST"}),
        ("put", "/api/v1/reindex/", {"POST"}),
    ],
)
def test_405_names_the_allowed_methods(
    client: FlaskClient, method: str, path: str, allowed: set[str]
) -> None:
    response = getattr(client, method)(path)

    assert_error(response, 405)
    methods = {name.strip() for name in response.headers["Allow"].split(",")}
    assert allowed <= methods


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/chat/conversations", '{"title": "half a pair \\ud800"}'),
        ("/api/v1/organizations/", '{"name": "\\udfff"}'),
    ],
)
def test_a_lone_surrogate_in_json_text_is_400(
    client: FlaskClient, owner: Account, path: str, body: str
) -> None:
    method = client.patch if path.startswith("/api/v1/organizations") else client.post
    response = method(path, data=body, content_type="application/json", headers=owner.headers)

    assert_error(response, 400)
