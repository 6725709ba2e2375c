"""Request and response bodies of the handoff endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from webapp.models import DeliveryStatus, HandoffStatus
from webapp.schemas import PageQuerySchema, page_of

STATUSES = list(HandoffStatus)


class HandoffQuerySchema(PageQuerySchema):
    status = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Only requests in this status."},
    )


class HandoffSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    conversation_id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(dump_only=True, metadata={"description": "Where to answer."})
    message = ma.fields.String(dump_only=True)
    status = ma.fields.String(dump_only=True, metadata={"description": "open or resolved"})
    assigned_to = ma.fields.UUID(
        attribute="assigned_to_id",
        dump_only=True,
        allow_none=True,
        metadata={"description": "A user."},
    )
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    resolved_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    delivery_status = ma.fields.String(
        dump_only=True,
        metadata={"description": "The webhook delivery: " + ", ".join(DeliveryStatus)},
    )
    delivery_attempts = ma.fields.Integer(dump_only=True)
    last_delivery_error = ma.fields.String(dump_only=True, allow_none=True)
    delivered_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class HandoffChangesSchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    assigned_to = ma.fields.UUID(
        allow_none=True, metadata={"description": "A user of your organization, or null."}
    )


HandoffPageSchema = page_of(HandoffSchema, "HandoffPage")
