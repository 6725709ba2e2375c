"""Requests from widget visitors to talk to a person, and their delivery to a webhook."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragkit import creation_time, update_time
from webapp.extensions import db
from webapp.models.chat import Conversation


class HandoffStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DeliveryStatus(enum.StrEnum):
    """Where the request stands with the organization's webhook."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    NOT_CONFIGURED = "not_configured"


class HandoffRequest(db.Model):
    """A visitor's e-mail address and message, left on a conversation for a person to answer."""

    __tablename__ = "handoff_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status_valid"),
        CheckConstraint(
            "delivery_status IN ('pending', 'delivered', 'failed', 'not_configured')",
            name="delivery_status_valid",
        ),
        Index("ix_handoff_requests_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[HandoffStatus] = mapped_column(
        default=HandoffStatus.OPEN, server_default=HandoffStatus.OPEN
    )
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        default=DeliveryStatus.NOT_CONFIGURED, server_default=DeliveryStatus.NOT_CONFIGURED
    )
    delivery_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_delivery_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    conversation: Mapped[Conversation] = relationship()
