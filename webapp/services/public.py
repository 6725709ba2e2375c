"""What anonymous widget visitors may do: the widget's origin rule, visitor tokens, conversations.

A visitor is identified by a signed token naming one conversation of one widget and a
fingerprint of the widget's public key: rotating the key invalidates every token issued before.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, request
from flask_smorest import abort
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ragkit import Chunk
from webapp.extensions import db
from webapp.models import Conversation, Message, MessageCitation, WidgetConfiguration

TOKEN_SALT = "ragkit-visitor-token"
DEFAULT_PORTS = {"http": 80, "https": 443}
ANY_ORIGIN = "*"


@dataclass(frozen=True)
class VisitorToken:
    """A new conversation's token and when it stops being accepted."""

    conversation: Conversation
    token: str
    expires_at: datetime


def find_widget(key: str) -> WidgetConfiguration:
    widget = db.session.execute(
        db.select(WidgetConfiguration).where(WidgetConfiguration.public_key == key)
    ).scalar_one_or_none()
    if widget is None:
        abort(404, message="No widget has this key.")
    return widget


def origin_matches(allowed: str, host: str, port: int) -> bool:
    """Whether one ``allowed_domains`` entry admits ``host:port``.

    ``*.example.com`` admits the subdomains of example.com but not example.com itself; an
    entry without a port admits every port of its host.
    """
    allowed_host, _, allowed_port = allowed.partition(":")
    if allowed_port and int(allowed_port) != port:
        return False
    if allowed_host.startswith("*."):
        return host.endswith(allowed_host[1:])
    return host == allowed_host


def origin_address(origin: str) -> tuple[str, int] | None:
    """``https://help.example.com`` -> ``("help.example.com", 443)``; None if not a web origin."""
    try:
        parts = urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    return parts.hostname.lower(), port


def request_origin() -> str | None:
    """The page the request comes from: its ``Origin`` header.

    Browsers leave the header out of same-origin GET requests (a widget on a page of the app's
    own host); they mark those ``Sec-Fetch-Site: same-origin``, so the app's own origin is used.
    """
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Sec-Fetch-Site") == "same-origin":
        return request.host_url.rstrip("/")
    return origin


def check_origin(widget: WidgetConfiguration, origin: str | None) -> None:
    """Abort with 403 unless the widget may be used from ``origin`` (the Origin header)."""
    if ANY_ORIGIN in widget.allowed_domains:
        return
    if not origin:
        abort(
            403,
            code="origin_required",
            message="This widget only answers pages of its allowed domains (no Origin was sent).",
        )
    address = origin_address(origin)
    if address is None or not any(
        origin_matches(allowed, *address) for allowed in widget.allowed_domains
    ):
        abort(
            403,
            code="origin_not_allowed",
            message=f"This widget is not enabled on {origin}: add its host to allowed_domains.",
        )


def token_lifetime() -> timedelta:
    return timedelta(days=current_app.config["PUBLIC_TOKEN_DAYS"])


def key_fingerprint(public_key: str) -> str:
    return hashlib.sha256(public_key.encode()).hexdigest()[:16]


def serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def start_conversation(widget: WidgetConfiguration) -> VisitorToken:
    """A new conversation on the widget, with its visitor's token; counts it on the widget."""
    conversation = Conversation(
        organization_id=widget.organization_id,
        widget_id=widget.id,
        session_id=secrets.token_urlsafe(24),
    )
    db.session.add(conversation)
    db.session.flush()
    # In SQL, so concurrent starts each add one; the widget's own updated_at stays as it was.
    db.session.execute(
        sa.update(WidgetConfiguration)
        .where(WidgetConfiguration.id == widget.id)
        .values(
            conversation_count=WidgetConfiguration.conversation_count + 1,
            updated_at=WidgetConfiguration.updated_at,
        )
    )
    claims = {
        "conversation": str(conversation.id),
        "widget": str(widget.id),
        "key": key_fingerprint(widget.public_key),
    }
    token = serializer().dumps(claims)
    db.session.commit()
    return VisitorToken(conversation, token, datetime.now(UTC) + token_lifetime())


def read_token() -> dict[str, Any]:
    """The claims of the request's ``Authorization: Bearer`` visitor token; 401 otherwise."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="Send the conversation's visitor token as 'Authorization: Bearer ...'.")
    max_age = int(token_lifetime().total_seconds())
    try:
        claims = serializer().loads(token.strip(), max_age=max_age)
    except SignatureExpired:
        abort(401, message="The visitor token has expired: start a new conversation.")
    except BadSignature:
        abort(401, message="The visitor token is not valid.")
    if not isinstance(claims, dict) or not {"conversation", "widget", "key"} <= claims.keys():
        abort(401, message="The visitor token is not valid.")
    return claims


def visitor_conversation(widget: WidgetConfiguration, conversation_id: uuid.UUID) -> Conversation:
    """The conversation the request's token was issued for, if it is this widget's.

    A token of another conversation or widget gets 404 (nothing about either is revealed); a
    token issued before the widget's key was rotated gets 401.
    """
    claims = read_token()
    if claims["widget"] != str(widget.id) or claims["conversation"] != str(conversation_id):
        abort(404, message=f"No conversation {conversation_id}.")
    if claims["key"] != key_fingerprint(widget.public_key):
        abort(401, message="The widget's key has changed: start a new conversation.")
    conversation = db.session.execute(
        db.select(Conversation).where(
            Conversation.id == conversation_id,
            Conversation.widget_id == widget.id,
            Conversation.organization_id == widget.organization_id,
        )
    ).scalar_one_or_none()
    if conversation is None:
        abort(404, message=f"No conversation {conversation_id}.")
    return conversation


def check_question(content: str) -> None:
    """Abort with 413 if the question is longer than visitors may ask."""
    limit = current_app.config["PUBLIC_MAX_QUESTION_LENGTH"]
    if len(content) > limit:
        abort(
            413,
            code="question_too_long",
            message=f"Questions are limited to {limit} characters; this one has {len(content)}.",
        )


def conversation_message(conversation: Conversation, message_id: uuid.UUID) -> Message:
    message = db.session.execute(
        db.select(Message).where(
            Message.id == message_id, Message.conversation_id == conversation.id
        )
    ).scalar_one_or_none()
    if message is None:
        abort(404, message=f"No message {message_id} in this conversation.")
    return message


def cited_passage(conversation: Conversation, message_id: uuid.UUID, n: int) -> dict[str, Any]:
    """Citation ``[n]`` of an answer in this conversation, with the cited chunk's full text."""
    citation = find_citation(conversation, message_id, n)
    return {
        "n": citation.rank,
        "title": citation.document_title,
        "source": citation.source,
        "page": citation.page_number,
        "section": citation.section_title,
        "quote": citation.quote,
        "passage": chunk_text(conversation, citation) or citation.quote,
        "document_id": citation.document_id,
    }


def find_citation(conversation: Conversation, message_id: uuid.UUID, n: int) -> MessageCitation:
    citation = db.session.execute(
        db.select(MessageCitation)
        .join(Message, Message.id == MessageCitation.message_id)
        .where(
            Message.conversation_id == conversation.id,
            MessageCitation.message_id == message_id,
            MessageCitation.rank == n,
        )
    ).scalar_one_or_none()
    if citation is None:
        abort(404, message=f"No citation [{n}] on message {message_id} of this conversation.")
    return citation


def chunk_text(conversation: Conversation, citation: MessageCitation) -> str | None:
    """The cited chunk's text, if it still exists in the conversation's organization.

    Only the chunk this citation names is read, so no other passage can be reached this way.
    """
    if citation.chunk_id is None:
        return None
    return db.session.execute(
        db.select(Chunk.content).where(
            Chunk.id == citation.chunk_id,
            Chunk.organization_id == str(conversation.organization_id),
        )
    ).scalar_one_or_none()
