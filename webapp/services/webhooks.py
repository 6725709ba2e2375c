"""Delivering handoff requests to the organization's webhook, signed with its secret.

The body is JSON; ``X-Ragkit-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw body with
the organization's webhook secret, and ``X-Ragkit-Timestamp`` the Unix time of sending (also in
the body as ``sent_at``, so it is covered by the signature). Works on any SQLAlchemy session:
the web request's, or an RQ worker's (``workers.jobs.deliver_handoff``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from webapp.chat.schemas import MessageSchema
from webapp.errors import WebappError
from webapp.models import DeliveryStatus, HandoffRequest, Message, Organization

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ragkit-Signature"
TIMESTAMP_HEADER = "X-Ragkit-Timestamp"
EVENT = "handoff.created"
DEFAULT_TIMEOUT = 10.0
ERROR_LENGTH = 1000


class WebhookDeliveryFailed(WebappError):
    """The webhook did not accept the event (no answer, or a status other than 2xx)."""


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Ragkit-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def handoff_event(session: Session, handoff: HandoffRequest, sent_at: int) -> dict[str, Any]:
    """The JSON body: the request and the whole conversation it was made in."""
    messages = session.execute(
        sa.select(Message)
        .where(Message.conversation_id == handoff.conversation_id)
        .options(selectinload(Message.citations))
        .order_by(Message.created_at, Message.id)
    ).scalars()
    widget_id = handoff.conversation.widget_id
    return {
        "event": EVENT,
        "sent_at": sent_at,
        "handoff": {
            "id": str(handoff.id),
            "organization_id": str(handoff.organization_id),
            "conversation_id": str(handoff.conversation_id),
            "email": handoff.email,
            "message": handoff.message,
            "status": handoff.status,
            "created_at": handoff.created_at.isoformat(),
        },
        "conversation": {
            "id": str(handoff.conversation_id),
            "widget_id": str(widget_id) if widget_id else None,
            "messages": MessageSchema(many=True).dump(list(messages)),
        },
    }


def post(url: str, secret: str, event: dict[str, Any], timeout: float) -> None:
    """POST the event, signed; raises :class:`WebhookDeliveryFailed` unless it answers 2xx."""
    body = json.dumps(event).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "ragkit-webhooks/1",
            SIGNATURE_HEADER: signature(secret, body),
            TIMESTAMP_HEADER: str(event["sent_at"]),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(1024)
    except urllib.error.HTTPError as error:
        raise WebhookDeliveryFailed(f"the webhook answered HTTP {error.code}") from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise WebhookDeliveryFailed(f"the webhook could not be reached: {reason}") from error


def deliver(
    session: Session, handoff_id: uuid.UUID, *, final: bool, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Send the handoff to its organization's webhook and record the outcome on it.

    Returns the delivery status. A failed attempt is recorded and re-raised, so a queued job is
    retried; the status stays ``pending`` until the ``final`` attempt fails.
    """
    handoff = session.get(HandoffRequest, handoff_id)
    if handoff is None:  # its conversation was deleted meanwhile
        return "gone"
    if handoff.delivery_status == DeliveryStatus.DELIVERED:
        return handoff.delivery_status
    organization = session.get_one(Organization, handoff.organization_id)
    if not organization.webhook_url or not organization.webhook_secret:
        return record_status(session, handoff, DeliveryStatus.NOT_CONFIGURED)
    handoff.delivery_attempts += 1
    event = handoff_event(session, handoff, int(time.time()))
    try:
        post(organization.webhook_url, organization.webhook_secret, event, timeout)
    except WebhookDeliveryFailed as error:
        record_failure(session, handoff, str(error), final=final)
        raise
    handoff.delivered_at = datetime.now(UTC)
    handoff.last_delivery_error = None
    return record_status(session, handoff, DeliveryStatus.DELIVERED)


def record_status(session: Session, handoff: HandoffRequest, status: DeliveryStatus) -> str:
    handoff.delivery_status = status
    session.commit()
    return status


def record_failure(session: Session, handoff: HandoffRequest, error: str, *, final: bool) -> None:
    log.info("handoff %s not delivered: %s", handoff.id, error)
    handoff.last_delivery_error = error[:ERROR_LENGTH]
    record_status(session, handoff, DeliveryStatus.FAILED if final else DeliveryStatus.PENDING)
