"""Organizations (the tenant boundary) and their users."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragkit import creation_time
from webapp.extensions import db


class Role(enum.StrEnum):
    """What a user may do in their organization."""

    OWNER = "owner"
    MEMBER = "member"


class Organization(db.Model):
    """A customer of the product; every other row belongs to one."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = creation_time()

    users: Mapped[list[User]] = relationship(
        back_populates="organization", passive_deletes=True, order_by="User.created_at"
    )

    @property
    def namespace(self) -> str:
        """The organization id as ragkit knows it (``Document.organization_id``)."""
        return str(self.id)


class User(db.Model):
    """Someone who signs in; their JWT identity is their id."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('owner', 'member')", name="role_valid"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(default=Role.MEMBER)
    created_at: Mapped[datetime] = creation_time()

    organization: Mapped[Organization] = relationship(back_populates="users")

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER
