"""Conversations, their messages, the citations of answers, and feedback on them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragkit import creation_time, update_time
from webapp.extensions import db

if TYPE_CHECKING:
    from ragkit import Citation


class MessageRole(enum.StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class Conversation(db.Model):
    """A thread of questions and answers, by a user or an anonymous widget visitor."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_organization_id_updated_at", "organization_id", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64))
    widget_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("widget_configurations.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Message.created_at",
    )


class Message(db.Model):
    """One turn of a conversation; assistant messages carry citations."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant', 'system')", name="role_valid"),
        Index("ix_messages_conversation_id_created_at", "conversation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[MessageRole]
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = creation_time()
    response_time: Mapped[float | None]
    llm_model: Mapped[str | None] = mapped_column(String(200))
    abstained: Mapped[bool | None]

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    citations: Mapped[list[MessageCitation]] = relationship(
        back_populates="message",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MessageCitation.rank",
    )


class MessageCitation(db.Model):
    """A source an answer cites: a snapshot, so it stays readable after a reindex or delete."""

    __tablename__ = "message_citations"
    __table_args__ = (UniqueConstraint("message_id", "rank"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    chunk_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chunks.id", ondelete="SET NULL"), index=True
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    rank: Mapped[int]
    score: Mapped[float]
    quote: Mapped[str] = mapped_column(Text)
    document_title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(1024))
    page_number: Mapped[int | None]
    section_title: Mapped[str | None] = mapped_column(String(500))

    message: Mapped[Message] = relationship(back_populates="citations")

    @classmethod
    def from_citation(cls, citation: Citation) -> MessageCitation:
        """The snapshot of an answer's citation, stored with its message."""
        return cls(
            rank=citation.n,
            chunk_id=citation.chunk_id,
            document_id=citation.document_id,
            score=round(citation.score, 4),
            quote=citation.quote,
            document_title=citation.title,
            source=citation.source,
            page_number=citation.page,
            section_title=citation.section,
        )


class Feedback(db.Model):
    """A thumbs up (+1) or down (-1) on an assistant message, by a user or a widget visitor."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("message_id", "user_id"),
        UniqueConstraint("message_id", "session_id", name="uq_feedback_message_id_session_id"),
        CheckConstraint("rating IN (-1, 1)", name="rating_valid"),
        CheckConstraint("user_id IS NOT NULL OR session_id IS NOT NULL", name="has_author"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()
