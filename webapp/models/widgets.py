"""Configurations of the embeddable chat widget."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ragkit import creation_time, update_time
from webapp.extensions import db

PUBLIC_KEY_PREFIX = "wk_"


def new_public_key() -> str:
    """A fresh, unguessable key that identifies a widget in public pages."""
    return PUBLIC_KEY_PREFIX + secrets.token_urlsafe(24)


class WidgetConfiguration(db.Model):
    """How an organization's chat widget looks and where it may be embedded."""

    __tablename__ = "widget_configurations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(100))
    primary_color: Mapped[str] = mapped_column(String(64))
    welcome_message: Mapped[str] = mapped_column(Text, default="", server_default="")
    allowed_domains: Mapped[list[str]] = mapped_column(ARRAY(String(253)), default=list)
    enable_file_upload: Mapped[bool] = mapped_column(default=False)
    enable_feedback: Mapped[bool] = mapped_column(default=True)
    conversation_count: Mapped[int] = mapped_column(default=0, server_default="0")
    public_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_public_key)
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()
