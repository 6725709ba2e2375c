"""Every endpoint of the OpenAPI spec against every kind of wrong credential: 0 leaks.

A victim organization holds a document, a conversation with an answer, a widget with two visitor
conversations (one with a handoff request), a reindex run and a webhook secret; each of them
carries a marker. Each operation is called on the victim's ids with each credential below. A
cell passes when the status is the right refusal (401, 403 or 404) — or, for a credential
that may legitimately use the operation, a success — and the body holds no marker the
credential must not see. A leak is a success where a refusal was due, or a marker seen.
The victim's data is checked intact after each sweep.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from werkzeug.test import TestResponse

from tests.fixtures import PASSWORD, Account, AuthActions
from tests.webapp.test_public_widget import ORIGIN, Visitor, ask, create_widget, visit

CREDENTIALS = (
    "none",
    "garbage",
    "expired",
    "alg-none",
    "wrong secret",
    "other organization",
    "member",
    "refresh as access",
    "revoked",
    "another conversation's visitor token",
)
REFUSALS = {401, 403, 404}
UNAUTHENTICATED = {"none", "garbage", "expired", "alg-none", "wrong secret", "revoked"}
# Operations a refresh token is meant for.
REFRESH_OPERATIONS = {("post", "/api/v1/auth/refresh"), ("post", "/api/v1/auth/logout")}
CHAT_OF_THE_OWNER = re.compile(r"/chat/(conversations|messages)/\{")
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/api/v1/organizations/current"): {"name": "Renamed by an intruder"},
    ("patch", "/api/v1/documents/{document_id}"): {"title": "Renamed by an intruder"},
    ("post", "/api/v1/chat/conversations/"): {},
    ("patch", "/api/v1/chat/conversations/{conversation_id}"): {"title": "Renamed"},
    ("post", "/api/v1/chat/conversations/{conversation_id}/messages/"): {"content": "Code?"},
    ("post", "/api/v1/chat/conversations/{conversation_id}/messages/stream"): {"content": "Code?"},
    ("post", "/api/v1/chat/messages/{message_id}/feedback"): {"rating": -1},
    ("post", "/api/v1/widgets/"): {"name": "Intruder", "allowed_domains": ["evil.example"]},
    ("patch", "/api/v1/widgets/{widget_id}"): {"name": "Renamed by an intruder"},
    ("post", "/api/v1/reindex/"): {},
    ("patch", "/api/v1/handoffs/{handoff_id}"): {"status": "resolved"},
    ("post", "/api/v1/public/widgets/{key}/conversations/{conversation_id}/messages"): {
        "content": "Code?"
    },
    ("post", "/api/v1/public/widgets/{key}/conversations/{conversation_id}/messages/stream"): {
        "content": "Code?"
    },
    (
        "post",
        "/api/v1/public/widgets/{key}/conversations/{conversation_id}/messages/{message_id}/feedback",
    ): {"rating": -1},
    ("post", "/api/v1/public/widgets/{key}/conversations/{conversation_id}/handoff"): {
        "email": "intruder@example.org"
    },
}


@dataclass
class Victim:
    """The organization under attack: its accounts, the ids in its paths, its markers."""

    owner: Account
    member: Account
    path_values: dict[str, str]
    visitor: Visitor
    other_visitor: Visitor
    # Only the owner may see these (members see their own conversations, not the secret).
    owner_markers: list[str] = field(default_factory=list)
    # Anyone outside the organization must not see these.
    organization_markers: list[str] = field(default_factory=list)


@dataclass
class Operation:
    method: str
    path: str
    security: str  # "bearer" or "visitor"
    refusals: set[int]  # statuses documented for refusals (403 means: owners only)


@pytest.fixture(scope="module")
def victim(app: Flask) -> Victim:
    client = app.test_client()
    auth = AuthActions(client)
    marker = f"victim{uuid.uuid4().hex[:12]}"
    owner = auth.register(f"Organization {marker}")
    member = auth.invite(owner)
    document = client.post(
        "/api/v1/documents/",
        data={
            "file": (io.BytesIO(f"The {marker} door code is 4711.".encode()), "codes.txt"),
            "title": f"Door codes {marker}",
        },
        headers=owner.headers,
        content_type="multipart/form-data",
    ).json
    conversation = client.post(
        "/api/v1/chat/conversations/", json={"title": f"Private {marker}"}, headers=owner.headers
    ).json
    question = f"What is the {marker} door code?"
    exchange = client.post(
        f"/api/v1/chat/conversations/{conversation['id']}/messages/",
        json={"content": question},
        headers=owner.headers,
    ).json
    settings = client.patch(
        "/api/v1/organizations/current",
        json={"webhook_url": "https://hooks.example.com/ragkit"},
        headers=owner.headers,
    ).json
    widget = create_widget(client, owner, name=f"Widget {marker}")
    visitor, other_visitor = (
        visit(client, widget["public_key"]),
        visit(client, widget["public_key"]),
    )
    answered = ask(client, visitor, f"Where is the {marker} door?").json
    handoff = client.post(
        f"{visitor.url}/handoff",
        json={"email": f"{marker}@example.org", "message": "Call me"},
        headers=visitor.headers,
    ).json
    run = client.post("/api/v1/reindex/", json={}, headers=owner.headers).json
    return Victim(
        owner=owner,
        member=member,
        visitor=visitor,
        other_visitor=other_visitor,
        path_values={
            "user_id": owner.user_id,
            "document_id": document["id"],
            "conversation_id": conversation["id"],
            "message_id": exchange["assistant_message"]["id"],
            "widget_id": widget["id"],
            "run_id": run["id"],
            "handoff_id": handoff["id"],
            "key": widget["public_key"],
            "visitor_conversation_id": visitor.conversation_id,
            "visitor_message_id": answered["assistant_message"]["id"],
            "n": "1",
        },
        owner_markers=[f"Private {marker}", question, settings["webhook_secret"]],
        organization_markers=[marker, owner.email, member.email, settings["webhook_secret"]],
    )


def operations(client: FlaskClient) -> list[Operation]:
    """Every operation of the spec that needs a credential."""
    found = []
    for path, methods in client.get("/api/openapi.json").json["paths"].items():
        for method, operation in methods.items():
            security = operation.get("security") if isinstance(operation, dict) else None
            if not security:
                continue  # public by design: register, login, the widget's own routes
            kind = "visitor" if "visitorToken" in security[0] else "bearer"
            refusals = {int(code) for code in operation["responses"] if code in {"403", "404"}}
            found.append(Operation(method, path, kind, refusals))
    return found


def url_of(operation: Operation, victim: Victim) -> str:
    values = dict(victim.path_values)
    if operation.security == "visitor":
        values["conversation_id"] = values["visitor_conversation_id"]
        values["message_id"] = values["visitor_message_id"]
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], operation.path)


def unsigned(token: str) -> str:
    """The token's claims re-sent with `alg: none` and no signature."""
    claims = pyjwt.decode(token, options={"verify_signature": False})

    def encode(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}."


def credential_factory(app: Flask, client: FlaskClient, victim: Victim) -> Callable[[str], str]:
    """A function giving a fresh token of each kind (fresh: a logout in one cell never
    revokes the token of the next)."""
    other = AuthActions(client).register("Another organization")
    revoked = victim.owner.access_token
    assert client.post("/api/v1/auth/logout", headers=victim.owner.headers).status_code == 204
    owner_id, member_id = victim.owner.user_id, victim.member.user_id

    def token(kind: str) -> str:
        with app.app_context():
            makers = {
                "garbage": lambda: "not-a-token",
                "expired": lambda: create_access_token(owner_id, expires_delta=timedelta(-1)),
                "alg-none": lambda: unsigned(create_access_token(owner_id)),
                "wrong secret": lambda: pyjwt.encode(
                    pyjwt.decode(
                        create_access_token(owner_id), options={"verify_signature": False}
                    ),
                    "a-different-secret-that-is-long-enough-for-hs256",
                    algorithm="HS256",
                ),
                "other organization": lambda: create_access_token(other.user_id),
                "member": lambda: create_access_token(member_id),
                "refresh as access": lambda: create_refresh_token(owner_id),
                "revoked": lambda: revoked,
                "another conversation's visitor token": lambda: victim.other_visitor.token,
            }
            return makers[kind]()

    return token


def expected_statuses(operation: Operation, credential: str) -> set[int] | None:
    """The statuses that are right for this cell; None: any status below 500 (the caller acts
    in its own organization, so only markers can tell a leak)."""
    key = (operation.method, operation.path)
    if operation.security == "visitor":
        return {404} if credential == "another conversation's visitor token" else {401}
    if credential in UNAUTHENTICATED or credential == "another conversation's visitor token":
        return {401}
    if credential == "refresh as access":
        return {200, 204} if key in REFRESH_OPERATIONS else {401}
    if key == ("post", "/api/v1/auth/refresh"):
        return {401}  # an access token cannot refresh
    has_ids = "{" in operation.path
    if credential == "other organization":
        return {404} if has_ids else None
    # A member: refused owner-only operations, and the owner's conversations are not theirs.
    if 403 in operation.refusals:
        return {403}
    if CHAT_OF_THE_OWNER.search(operation.path):
        return {404}
    return {200, 201, 202, 204}


def call(client: FlaskClient, operation: Operation, url: str, token: str | None) -> TestResponse:
    headers = {"Origin": ORIGIN} if operation.security == "visitor" else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if (operation.method, operation.path) == ("post", "/api/v1/documents/"):
        content = f"Uploaded by an intruder {uuid.uuid4().hex}.".encode()
        return client.post(
            url,
            data={"file": (io.BytesIO(content), "intruder.txt")},
            headers=headers,
            content_type="multipart/form-data",
        )
    if (operation.method, operation.path) == ("post", "/api/v1/organizations/members"):
        body: dict[str, Any] | None = {
            "email": f"intruder-{uuid.uuid4().hex[:8]}@example.com",
            "password": PASSWORD,
        }
    else:
        body = BODIES.get((operation.method, operation.path))
    return client.open(url, method=operation.method.upper(), json=body, headers=headers)


def visible_markers(credential: str, victim: Victim) -> list[str]:
    """What this credential must never read: a member sees the organization, not the owner's
    conversations or the webhook secret; anyone else sees nothing of it."""
    return victim.owner_markers if credential == "member" else victim.organization_markers


def assert_victim_intact(client: FlaskClient, victim: Victim, app: Flask) -> None:
    with app.app_context():
        headers = {"Authorization": f"Bearer {create_access_token(victim.owner.user_id)}"}
    values = victim.path_values
    for path in (
        f"/api/v1/documents/{values['document_id']}",
        f"/api/v1/chat/conversations/{values['conversation_id']}",
        f"/api/v1/widgets/{values['widget_id']}",
    ):
        assert client.get(path, headers=headers).status_code == 200, path
    current = client.get("/api/v1/organizations/current", headers=headers).json
    assert current["name"].startswith("Organization victim")
    members = client.get("/api/v1/organizations/members", headers=headers).json
    assert {member["id"] for member in members} >= {victim.owner.user_id, victim.member.user_id}
    visitor = client.get(f"{victim.visitor.url}/messages", headers=victim.visitor.headers)
    assert visitor.status_code == 200 and len(visitor.json) == 2


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_no_credential_reaches_what_it_must_not(
    app: Flask, client: FlaskClient, victim: Victim, credential: str
) -> None:
    token = None if credential == "none" else credential_factory(app, client, victim)
    cells, wrong, leaks = 0, [], []

    for operation in operations(client):
        response = call(client, operation, url_of(operation, victim), token and token(credential))
        body = response.get_data(as_text=True)
        expected = expected_statuses(operation, credential)
        cells += 1
        status_ok = (
            response.status_code < 500 if expected is None else (response.status_code in expected)
        )
        granted = response.status_code < 300 and expected is not None and expected <= REFUSALS
        seen = [marker for marker in visible_markers(credential, victim) if marker in body]
        if granted or seen:
            leaks.append((operation.method, operation.path, response.status_code, seen))
        elif not status_ok:
            wrong.append((operation.method, operation.path, response.status_code, body[:200]))

    print(f"access matrix, {credential}: {cells} cells, {len(leaks)} leaks, {len(wrong)} wrong")
    assert cells >= 40
    assert leaks == []
    assert wrong == []
    assert_victim_intact(client, victim, app)
