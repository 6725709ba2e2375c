"""Handoff requests: a visitor asks for a person; the organization sees, assigns and resolves it.

A new request goes to the organization's webhook when one is configured: by an RQ job with
retries (``PROCESSING_MODE=queue``), or in the request itself (``inline``).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_smorest import abort
from redis.exceptions import RedisError
from sqlalchemy.orm import selectinload

from webapp.config import queue_prefix
from webapp.extensions import db, redis_client
from webapp.models import (
    Conversation,
    DeliveryStatus,
    HandoffRequest,
    HandoffStatus,
    Organization,
    User,
)
from webapp.services import webhooks
from webapp.services.pagination import Page, paginate
from webapp.services.processing import queued
from workers import queue

log = logging.getLogger(__name__)


def request_handoff(conversation: Conversation, email: str, message: str) -> HandoffRequest:
    """Store the visitor's request on the conversation and send it to the webhook, if any."""
    organization = db.session.get_one(Organization, conversation.organization_id)
    configured = bool(organization.webhook_url)
    handoff = HandoffRequest(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        email=email.strip(),
        message=message.strip(),
        delivery_status=(DeliveryStatus.PENDING if configured else DeliveryStatus.NOT_CONFIGURED),
    )
    db.session.add(handoff)
    db.session.commit()
    if configured:
        send_to_webhook(handoff)
    return handoff


def send_to_webhook(handoff: HandoffRequest) -> None:
    """Queue the delivery (retried with backoff), or attempt it once now when inline."""
    if not queued():
        # A failure is recorded on the handoff, where the organization reads it.
        with contextlib.suppress(webhooks.WebhookDeliveryFailed):
            webhooks.deliver(
                db.session, handoff.id, final=True, timeout=current_app.config["WEBHOOK_TIMEOUT"]
            )
        return
    try:
        queue.enqueue_handoff_delivery(redis_client.connection, handoff.id, prefix=queue_prefix())
    except RedisError as error:
        log.error("could not queue the delivery of handoff %s: %s", handoff.id, error)
        webhooks.record_failure(db.session, handoff, f"could not be queued: {error}", final=True)


def organization_handoffs(user: User) -> sa.Select:
    return db.select(HandoffRequest).where(HandoffRequest.organization_id == user.organization_id)


def list_handoffs(user: User, status: str | None, page: int, per_page: int) -> Page:
    """The organization's handoff requests, newest first, optionally of one status."""
    query = organization_handoffs(user)
    if status:
        query = query.where(HandoffRequest.status == status)
    query = query.order_by(HandoffRequest.created_at.desc(), HandoffRequest.id)
    # The console shows each request's conversation: load them with the page, not one by one.
    query = query.options(selectinload(HandoffRequest.conversation))
    return paginate(query, page, per_page)


def find_handoff(user: User, handoff_id: uuid.UUID) -> HandoffRequest:
    handoff = db.session.execute(
        organization_handoffs(user).where(HandoffRequest.id == handoff_id)
    ).scalar_one_or_none()
    if handoff is None:
        abort(404, message=f"No handoff request {handoff_id}.")
    return handoff


def update_handoff(handoff: HandoffRequest, changes: dict[str, Any]) -> HandoffRequest:
    """Resolve or reopen the request, and assign it to a user of its organization (or nobody)."""
    if "assigned_to" in changes:
        handoff.assigned_to_id = assignee(handoff, changes["assigned_to"])
    if "status" in changes and changes["status"] != handoff.status:
        handoff.status = changes["status"]
        resolved = handoff.status == HandoffStatus.RESOLVED
        handoff.resolved_at = sa.func.now() if resolved else None
    db.session.commit()
    return handoff


def assignee(handoff: HandoffRequest, user_id: uuid.UUID | None) -> uuid.UUID | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.organization_id != handoff.organization_id:
        abort(
            422,
            message="The request is not valid: see errors.",
            errors={"json": {"assigned_to": [f"No user {user_id} in your organization."]}},
        )
    return user_id
