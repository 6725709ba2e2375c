"""Knowledge gaps: questions the assistant could not answer well, grouped by similarity."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragkit import creation_time
from webapp.extensions import db


class GapStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class GapReason(enum.StrEnum):
    """Why a question counts as a gap."""

    ABSTAINED = "abstained"
    RATED_DOWN = "rated_down"


class KnowledgeGap(db.Model):
    """A group of similar unanswered or down-rated questions.

    ``vector_sum`` is the sum of the members' unit-length embeddings: its direction is the
    group's centroid, so a new question joins by cosine similarity without re-reading members.
    """

    __tablename__ = "knowledge_gaps"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status_valid"),
        Index("ix_knowledge_gaps_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text)
    embed_model: Mapped[str] = mapped_column(String(200))
    vector_sum: Mapped[list[float]] = mapped_column(ARRAY(Float))
    question_count: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[GapStatus] = mapped_column(default=GapStatus.OPEN, server_default=GapStatus.OPEN)
    answer_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = creation_time()
    last_asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    questions: Mapped[list[GapQuestion]] = relationship(
        back_populates="gap",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GapQuestion.asked_at.desc()",
    )


class GapQuestion(db.Model):
    """One question of a gap: the answer it got (abstained or rated down) and its re-check."""

    __tablename__ = "knowledge_gap_questions"
    __table_args__ = (
        CheckConstraint("reason IN ('abstained', 'rated_down')", name="reason_valid"),
        Index("ix_knowledge_gap_questions_organization_id", "organization_id"),
    )

    answer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    gap_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_gaps.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[GapReason]
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rechecked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recheck_abstained: Mapped[bool | None]
    recheck_answer: Mapped[str | None] = mapped_column(Text)
    recheck_citations: Mapped[list[dict] | None] = mapped_column(JSONB)

    gap: Mapped[KnowledgeGap] = relationship(back_populates="questions")
