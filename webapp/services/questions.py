"""The question an answer replied to, and the recent questions that cited a document."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from webapp.extensions import db
from webapp.models import Conversation, Message, MessageCitation, MessageRole, Organization


def question_of(answer: type[Message]) -> sa.ScalarSelect:
    """The user message just before ``answer`` in its conversation (a correlated subquery)."""
    asked = aliased(Message)
    return (
        db.select(asked.content)
        .where(
            asked.conversation_id == answer.conversation_id,
            asked.role == MessageRole.USER,
            asked.created_at <= answer.created_at,
        )
        .order_by(asked.created_at.desc(), asked.id.desc())
        .limit(1)
        .correlate(answer)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class CitingQuestion:
    question: str
    conversation_id: uuid.UUID
    answered_at: datetime
    citation_rank: int
    user_id: uuid.UUID | None


def questions_citing(
    organization: Organization, document_id: uuid.UUID, limit: int = 10
) -> list[CitingQuestion]:
    """The latest answers of the organization that cite the document, with their questions."""
    answer = aliased(Message)
    first_citation = (
        db.select(MessageCitation.message_id, sa.func.min(MessageCitation.rank).label("rank"))
        .where(MessageCitation.document_id == document_id)
        .group_by(MessageCitation.message_id)
        .subquery()
    )
    rows = db.session.execute(
        db.select(
            question_of(answer),
            answer.conversation_id,
            answer.created_at,
            first_citation.c.rank,
            Conversation.user_id,
        )
        .join(first_citation, first_citation.c.message_id == answer.id)
        .join(Conversation, Conversation.id == answer.conversation_id)
        .where(Conversation.organization_id == organization.id)
        .order_by(answer.created_at.desc())
        .limit(limit)
    ).all()
    return [CitingQuestion(row[0] or "", *row[1:]) for row in rows]
