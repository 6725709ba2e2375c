"""Handoff requests: listed and worked on by the organization, sent signed to its webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.fixtures import Account, AuthActions
from tests.webapp.test_public_widget import Visitor, ask, assert_error, create_widget, visit
from tests.webhook_receiver import Receiver, webhook_receiver


def hand_off(client: FlaskClient, visitor: Visitor, email: str = "ada@example.org") -> dict:
    response = client.post(
        f"{visitor.url}/handoff",
        json={"email": email, "message": "The answer did not help."},
        headers=visitor.headers,
    )
    assert response.status_code == 201, response.json
    return response.json


def set_webhook(client: FlaskClient, owner: Account, url: str | None) -> dict:
    response = client.patch(
        "/api/v1/organizations/current", json={"webhook_url": url}, headers=owner.headers
    )
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def visitor(client: FlaskClient, owner: Account) -> Visitor:
    return visit(client, create_widget(client, owner)["public_key"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


# --- The authenticated API ----------------------------------------------------------------------


def test_handoffs_are_listed_newest_first_and_filtered_by_status(
    client: FlaskClient, owner: Account, visitor: Visitor
) -> None:
    first, second = hand_off(client, visitor), hand_off(client, visitor, "bob@example.org")
    client.patch(
        f"/api/v1/handoffs/{first['id']}", json={"status": "resolved"}, headers=owner.headers
    )

    everything = client.get("/api/v1/handoffs/", headers=owner.headers).json
    still_open = client.get("/api/v1/handoffs/?status=open", headers=owner.headers).json
    resolved = client.get("/api/v1/handoffs/?status=resolved", headers=owner.headers).json

    assert [item["id"] for item in everything["items"]] == [second["id"], first["id"]]
    assert everything["total"] == 2
    assert [item["id"] for item in still_open["items"]] == [second["id"]]
    assert [item["id"] for item in resolved["items"]] == [first["id"]]


def test_a_handoff_shows_its_conversation_and_delivery(
    client: FlaskClient, owner: Account, visitor: Visitor
) -> None:
    created = hand_off(client, visitor)

    response = client.get(f"/api/v1/handoffs/{created['id']}", headers=owner.headers)

    assert response.status_code == 200
    assert response.json["conversation_id"] == visitor.conversation_id
    assert response.json["email"] == "ada@example.org"
    assert response.json["message"] == "The answer did not help."
    assert (response.json["status"], response.json["assigned_to"]) == ("open", None)
    assert response.json["delivery_status"] == "not_configured"
    assert response.json["delivery_attempts"] == 0


def test_members_assign_resolve_and_reopen_handoffs(
    client: FlaskClient, auth: AuthActions, owner: Account, visitor: Visitor
) -> None:
    member = auth.invite(owner)
    url = f"/api/v1/handoffs/{hand_off(client, visitor)['id']}"

    assigned = client.patch(url, json={"assigned_to": member.user_id}, headers=member.headers)
    resolved = client.patch(url, json={"status": "resolved"}, headers=member.headers)
    reopened = client.patch(
        url, json={"status": "open", "assigned_to": None}, headers=owner.headers
    )

    assert assigned.status_code == 200 and assigned.json["assigned_to"] == member.user_id
    assert resolved.json["status"] == "resolved" and resolved.json["resolved_at"]
    assert resolved.json["assigned_to"] == member.user_id
    assert reopened.json["status"] == "open"
    assert (reopened.json["resolved_at"], reopened.json["assigned_to"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"status": "closed"}, "status"), ({"assigned_to": "nobody"}, "assigned_to")],
)
def test_invalid_changes_are_422(
    client: FlaskClient, owner: Account, visitor: Visitor, body: dict, field: str
) -> None:
    url = f"/api/v1/handoffs/{hand_off(client, visitor)['id']}"

    response = client.patch(url, json=body, headers=owner.headers)

    assert_error(response, 422, "unprocessable_entity")
    assert field in response.json["errors"]["json"]


def test_a_handoff_cannot_be_assigned_to_another_organizations_user(
    client: FlaskClient, owner: Account, other_owner: Account, visitor: Visitor
) -> None:
    url = f"/api/v1/handoffs/{hand_off(client, visitor)['id']}"

    response = client.patch(url, json={"assigned_to": other_owner.user_id}, headers=owner.headers)

    assert_error(response, 422, "unprocessable_entity")
    assert "assigned_to" in response.json["errors"]["json"]
    assert client.get(url, headers=owner.headers).json["assigned_to"] is None


def test_another_organization_never_sees_the_handoffs(
    client: FlaskClient, owner: Account, other_owner: Account, visitor: Visitor
) -> None:
    url = f"/api/v1/handoffs/{hand_off(client, visitor)['id']}"

    listed = client.get("/api/v1/handoffs/", headers=other_owner.headers).json
    read = client.get(url, headers=other_owner.headers)
    changed = client.patch(url, json={"status": "resolved"}, headers=other_owner.headers)

    assert listed["items"] == [] and listed["total"] == 0
    assert_error(read, 404, "not_found")
    assert_error(changed, 404, "not_found")
    assert client.get(url, headers=owner.headers).json["status"] == "open"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/handoffs/"),
        ("get", f"/api/v1/handoffs/{uuid.uuid4()}"),
        ("patch", f"/api/v1/handoffs/{uuid.uuid4()}"),
    ],
)
def test_the_handoff_api_needs_a_user_token(client: FlaskClient, method: str, url: str) -> None:
    response = getattr(client, method)(url, json={})

    assert_error(response, 401, "missing_token")


def test_a_visitor_token_is_not_a_user_token(client: FlaskClient, visitor: Visitor) -> None:
    response = client.get("/api/v1/handoffs/", headers={"Authorization": f"Bearer {visitor.token}"})

    assert response.status_code == 401


# --- The organization's webhook -----------------------------------------------------------------


def test_owners_set_a_webhook_and_see_its_secret_members_do_not(
    client: FlaskClient, auth: AuthActions, owner: Account
) -> None:
    member = auth.invite(owner)

    configured = set_webhook(client, owner, "https://hooks.example.com/ragkit")
    rotated = client.patch(
        "/api/v1/organizations/current", json={"rotate_webhook_secret": True}, headers=owner.headers
    ).json
    seen_by_member = client.get("/api/v1/organizations/current", headers=member.headers).json
    changed_by_member = client.patch(
        "/api/v1/organizations/current", json={"webhook_url": None}, headers=member.headers
    )

    assert configured["webhook_url"] == "https://hooks.example.com/ragkit"
    assert configured["webhook_secret"].startswith("whsec_")
    assert rotated["webhook_secret"].startswith("whsec_")
    assert rotated["webhook_secret"] != configured["webhook_secret"]
    assert rotated["webhook_url"] == configured["webhook_url"]
    assert seen_by_member["webhook_url"] == configured["webhook_url"]
    assert seen_by_member["webhook_secret"] is None
    assert_error(changed_by_member, 403, "forbidden")


@pytest.mark.parametrize("url", ["ftp://hooks.example.com", "not a url", "x" * 3000])
def test_a_webhook_url_must_be_http(client: FlaskClient, owner: Account, url: str) -> None:
    response = client.patch(
        "/api/v1/organizations/current", json={"webhook_url": url}, headers=owner.headers
    )

    assert_error(response, 422, "unprocessable_entity")


def test_a_handoff_is_posted_to_the_webhook_signed_with_the_secret(
    client: FlaskClient, owner: Account, visitor: Visitor, receiver: Receiver
) -> None:
    secret = set_webhook(client, owner, receiver.url)["webhook_secret"]
    question = ask(client, visitor, "How do I reset my password?").json

    created = hand_off(client, visitor)

    assert len(receiver.deliveries) == 1
    delivery = receiver.deliveries[0]
    expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery.headers["X-Ragkit-Signature"], expected)
    event = json.loads(delivery.body)
    assert delivery.headers["X-Ragkit-Timestamp"] == str(event["sent_at"])
    assert delivery.headers["Content-Type"] == "application/json"
    assert event["event"] == "handoff.created"
    assert event["handoff"]["id"] == created["id"]
    assert event["handoff"]["email"] == "ada@example.org"
    assert event["conversation"]["id"] == visitor.conversation_id
    assert [message["id"] for message in event["conversation"]["messages"]] == [
        question["user_message"]["id"],
        question["assistant_message"]["id"],
    ]
    stored = client.get(f"/api/v1/handoffs/{created['id']}", headers=owner.headers).json
    assert stored["delivery_status"] == "delivered"
    assert stored["delivery_attempts"] == 1 and stored["delivered_at"]
    assert stored["last_delivery_error"] is None


def test_a_webhook_answering_an_error_records_the_failure(
    client: FlaskClient, owner: Account, visitor: Visitor, receiver: Receiver
) -> None:
    receiver.status = 500
    set_webhook(client, owner, receiver.url)

    created = hand_off(client, visitor)

    stored = client.get(f"/api/v1/handoffs/{created['id']}", headers=owner.headers).json
    assert len(receiver.deliveries) == 1
    assert (stored["delivery_status"], stored["delivery_attempts"]) == ("failed", 1)
    assert "HTTP 500" in stored["last_delivery_error"]
    assert stored["status"] == "open"


def test_an_unreachable_webhook_records_the_failure(
    client: FlaskClient, owner: Account, visitor: Visitor
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    set_webhook(client, owner, f"http://127.0.0.1:{port}/hook")

    created = hand_off(client, visitor)

    stored = client.get(f"/api/v1/handoffs/{created['id']}", headers=owner.headers).json
    assert stored["delivery_status"] == "failed"
    assert "could not be reached" in stored["last_delivery_error"]


def test_the_webhook_is_not_called_for_another_organizations_handoff(
    client: FlaskClient, owner: Account, other_owner: Account, receiver: Receiver
) -> None:
    set_webhook(client, owner, receiver.url)
    outsider = visit(client, create_widget(client, other_owner)["public_key"])

    created = hand_off(client, outsider)

    assert receiver.deliveries == []
    assert created["status"] == "open"
    listed = client.get("/api/v1/handoffs/", headers=other_owner.headers).json
    assert listed["items"][0]["delivery_status"] == "not_configured"
