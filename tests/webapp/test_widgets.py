"""Widget configurations: validation, the embed snippet, key rotation, roles and tenancy."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.fixtures import Account, AuthActions

WIDGET = {
    "name": "Help centre",
    "title": "Ask Acme",
    "primary_color": "#1A73E8",
    "welcome_message": "Hi! Ask about your account.",
    "allowed_domains": ["Help.Example.com", "*.acme.io", "help.example.com"],
    "enable_file_upload": False,
    "enable_feedback": True,
}


@pytest.fixture
def widget(client: FlaskClient, owner: Account) -> dict:
    response = client.post("/api/v1/widgets/", json=WIDGET, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def test_create_generates_a_key_and_an_embed_snippet(widget: dict) -> None:
    assert widget["public_key"].startswith("wk_") and len(widget["public_key"]) > 20
    assert widget["public_key"] in widget["embed_snippet"]
    assert widget["embed_snippet"].startswith("<script")
    assert widget["allowed_domains"] == ["help.example.com", "*.acme.io"]
    assert widget["conversation_count"] == 0


def test_list_get_patch_and_delete(client: FlaskClient, owner: Account, widget: dict) -> None:
    url = f"/api/v1/widgets/{widget['id']}"

    listed = client.get("/api/v1/widgets/", headers=owner.headers).json
    patched = client.patch(url, json={"primary_color": "rebeccapurple"}, headers=owner.headers)

    assert [item["id"] for item in listed] == [widget["id"]]
    assert patched.status_code == 200
    assert patched.json["primary_color"] == "rebeccapurple"
    assert patched.json["title"] == WIDGET["title"]
    assert client.delete(url, headers=owner.headers).status_code == 204
    assert client.get(url, headers=owner.headers).status_code == 404


def test_rotating_the_key_replaces_it(client: FlaskClient, owner: Account, widget: dict) -> None:
    response = client.post(f"/api/v1/widgets/{widget['id']}/rotate-key", headers=owner.headers)

    assert response.status_code == 200
    assert response.json["public_key"] != widget["public_key"]


def test_conversation_count_and_key_are_read_only(
    client: FlaskClient, owner: Account, widget: dict
) -> None:
    response = client.patch(
        f"/api/v1/widgets/{widget['id']}",
        json={"conversation_count": 99, "public_key": "wk_mine"},
        headers=owner.headers,
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    "colour", ["#12345", "blue;background:url(x)", "rgb(1,2)", "notacolour", "", "#GGGGGG"]
)
def test_invalid_colours_are_422(client: FlaskClient, owner: Account, colour: str) -> None:
    response = client.post(
        "/api/v1/widgets/", json={**WIDGET, "primary_color": colour}, headers=owner.headers
    )

    assert response.status_code == 422
    assert "primary_color" in response.json["errors"]["json"]


@pytest.mark.parametrize("colour", ["#fff", "#a1b2c3d4", "rgb(26, 115, 232)", "hsl(210 50% 40%)"])
def test_valid_colours_are_accepted(client: FlaskClient, owner: Account, colour: str) -> None:
    response = client.post(
        "/api/v1/widgets/", json={**WIDGET, "primary_color": colour}, headers=owner.headers
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "domain",
    [
        "https://example.com",
        "example.com/path",
        "exa mple.com",
        "-bad.com",
        "example.com:99999",
        "example.com:",
        "*example.com",
        "**",
        "a" * 64 + ".com",
    ],
)
def test_invalid_domains_are_422(client: FlaskClient, owner: Account, domain: str) -> None:
    response = client.post(
        "/api/v1/widgets/", json={**WIDGET, "allowed_domains": [domain]}, headers=owner.headers
    )

    assert response.status_code == 422


def test_members_can_read_but_not_manage_widgets(
    client: FlaskClient, auth: AuthActions, owner: Account, widget: dict
) -> None:
    member = auth.invite(owner)
    url = f"/api/v1/widgets/{widget['id']}"

    assert client.get(url, headers=member.headers).status_code == 200
    assert client.post("/api/v1/widgets/", json=WIDGET, headers=member.headers).status_code == 403
    assert client.patch(url, json={"title": "x"}, headers=member.headers).status_code == 403
    assert client.post(f"{url}/rotate-key", headers=member.headers).status_code == 403
    assert client.delete(url, headers=member.headers).status_code == 403


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"title": "x"}),
        ("delete", "", None),
        ("post", "/rotate-key", None),
    ],
)
def test_another_organizations_widget_is_404(
    client: FlaskClient, widget: dict, other_owner: Account, method: str, suffix: str, body
) -> None:
    url = f"/api/v1/widgets/{widget['id']}{suffix}"

    assert getattr(client, method)(url, json=body, headers=other_owner.headers).status_code == 404
    assert client.get("/api/v1/widgets/", headers=other_owner.headers).json == []
