"""Signing in to the console and posting its forms, as a browser does (cookie + CSRF token)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.fixtures import Account
from webapp.extensions import db
from webapp.models import Conversation, Feedback, HandoffRequest, Message, MessageCitation

TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/console/sign-in") -> str:
    page = client.get(path)
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def sign_in(client: FlaskClient, account: Account) -> TestResponse:
    response = client.post(
        "/console/sign-in",
        data={
            "email": account.email,
            "password": account.password,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def post_form(client: FlaskClient, path: str, data: dict | None = None, **kwargs) -> TestResponse:
    """POST a console form with the token of the signed-in session."""
    token = csrf_token(client, "/console/documents")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def add_exchange(
    app: Flask,
    organization_id: str,
    question: str,
    *,
    abstained: bool = False,
    rating: int | None = None,
    widget_id: str | None = None,
    user_id: str | None = None,
    response_time: float = 1.0,
    asked_at: datetime | None = None,
    handoff: bool = False,
    cited: tuple[str, str] | None = None,
) -> str:
    """A conversation with one question and its answer, stored directly; returns its id."""
    asked_at = asked_at or datetime.now(UTC)
    with app.app_context():
        conversation = Conversation(
            organization_id=uuid.UUID(organization_id),
            widget_id=uuid.UUID(widget_id) if widget_id else None,
            user_id=uuid.UUID(user_id) if user_id else None,
            session_id=None if user_id else uuid.uuid4().hex,
            title=question[:80],
            created_at=asked_at,
            updated_at=asked_at,
        )
        answer = Message(
            conversation=conversation,
            role="assistant",
            content="I could not find this in the documents." if abstained else "Here is how.",
            abstained=abstained,
            response_time=response_time,
            created_at=asked_at + timedelta(seconds=1),
        )
        db.session.add_all(
            [
                conversation,
                Message(
                    conversation=conversation, role="user", content=question, created_at=asked_at
                ),
                answer,
            ]
        )
        db.session.flush()
        if cited:
            document_id, title = cited
            db.session.add(
                MessageCitation(
                    message_id=answer.id,
                    document_id=uuid.UUID(document_id),
                    rank=1,
                    score=0.9,
                    quote="…",
                    document_title=title,
                    source=title,
                )
            )
        if rating is not None:
            db.session.add(
                Feedback(message_id=answer.id, session_id=uuid.uuid4().hex, rating=rating)
            )
        if handoff:
            db.session.add(
                HandoffRequest(
                    organization_id=conversation.organization_id,
                    conversation_id=conversation.id,
                    email="visitor@example.org",
                    message="Please call me back.",
                )
            )
        db.session.commit()
        return str(conversation.id)
