"""How an organization's assistant is used: volumes, answer and handoff rates, speed, sources."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Conversation,
    Feedback,
    HandoffRequest,
    Message,
    MessageCitation,
    MessageRole,
)


@dataclass(frozen=True)
class DailyCount:
    day: date
    questions: int
    answers: int
    answered: int

    @property
    def answer_rate(self) -> float | None:
        return 100 * self.answered / self.answers if self.answers else None


@dataclass(frozen=True)
class CitedDocument:
    document_id: uuid.UUID | None
    title: str
    citations: int


@dataclass(frozen=True)
class Usage:
    """Usage between ``since`` and ``until`` (whole UTC days, both included)."""

    since: date
    until: date
    days: list[DailyCount]
    conversations: int
    handed_off: int
    rated_up: int
    rated_down: int
    p50_seconds: float | None
    p95_seconds: float | None
    top_documents: list[CitedDocument]

    @property
    def questions(self) -> int:
        return sum(day.questions for day in self.days)

    @property
    def answers(self) -> int:
        return sum(day.answers for day in self.days)

    @property
    def answer_rate(self) -> float | None:
        """Answers that did not abstain, in percent of all answers."""
        answered = sum(day.answered for day in self.days)
        return 100 * answered / self.answers if self.answers else None

    @property
    def thumbs_up_rate(self) -> float | None:
        """Thumbs up, in percent of all ratings."""
        rated = self.rated_up + self.rated_down
        return 100 * self.rated_up / rated if rated else None

    @property
    def handoff_rate(self) -> float | None:
        """Conversations with a handoff request, in percent of conversations."""
        return 100 * self.handed_off / self.conversations if self.conversations else None


def _bounds(since: date, until: date) -> tuple[datetime, datetime]:
    start = datetime.combine(since, time())
    return start, datetime.combine(until + timedelta(days=1), time())


def _messages(organization_id: uuid.UUID, since: date, until: date) -> sa.Select:
    start, end = _bounds(since, until)
    return (
        db.select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.organization_id == organization_id,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )


def usage(organization_id: uuid.UUID, since: date, until: date) -> Usage:
    """The organization's usage over the days from ``since`` to ``until``."""
    up, down = ratings(organization_id, since, until)
    p50, p95 = response_times(organization_id, since, until)
    conversations, handed_off = conversation_counts(organization_id, since, until)
    return Usage(
        since=since,
        until=until,
        days=daily_counts(organization_id, since, until),
        conversations=conversations,
        handed_off=handed_off,
        rated_up=up,
        rated_down=down,
        p50_seconds=p50,
        p95_seconds=p95,
        top_documents=top_documents(organization_id, since, until),
    )


def daily_counts(organization_id: uuid.UUID, since: date, until: date) -> list[DailyCount]:
    """Questions, answers and non-abstained answers per UTC day, every day of the range."""
    day = sa.func.date(sa.func.timezone("UTC", Message.created_at)).label("day")
    is_question = Message.role == MessageRole.USER
    is_answer = Message.role == MessageRole.ASSISTANT
    rows = db.session.execute(
        _messages(organization_id, since, until)
        .with_only_columns(
            day,
            sa.func.count().filter(is_question),
            sa.func.count().filter(is_answer),
            sa.func.count().filter(is_answer, Message.abstained.is_not(True)),
        )
        .group_by(day)
    ).all()
    found = {row[0]: row for row in rows}
    days = []
    current = since
    while current <= until:
        row = found.get(current)
        days.append(DailyCount(current, *(row[1:] if row else (0, 0, 0))))
        current += timedelta(days=1)
    return days


def ratings(organization_id: uuid.UUID, since: date, until: date) -> tuple[int, int]:
    """Thumbs up and down given to the answers of the range."""
    answers = _messages(organization_id, since, until).with_only_columns(Message.id).subquery()
    up, down = db.session.execute(
        db.select(
            sa.func.count().filter(Feedback.rating == 1),
            sa.func.count().filter(Feedback.rating == -1),
        ).where(Feedback.message_id.in_(db.select(answers.c.id)))
    ).one()
    return up, down


def response_times(organization_id: uuid.UUID, since: date, until: date) -> tuple:
    """The median and 95th percentile of the answers' response times, in seconds."""
    return tuple(
        db.session.execute(
            _messages(organization_id, since, until)
            .with_only_columns(
                sa.func.percentile_cont(0.5).within_group(Message.response_time),
                sa.func.percentile_cont(0.95).within_group(Message.response_time),
            )
            .where(Message.response_time.is_not(None))
        ).one()
    )


def conversation_counts(organization_id: uuid.UUID, since: date, until: date) -> tuple[int, int]:
    """Conversations started in the range, and how many of them asked for a person."""
    start, end = _bounds(since, until)
    in_range = (
        Conversation.organization_id == organization_id,
        Conversation.created_at >= start,
        Conversation.created_at < end,
    )
    total = db.session.execute(db.select(sa.func.count()).where(*in_range)).scalar_one()
    # A join, not EXISTS per conversation: one pass over the handoffs of the organization.
    with_handoff = db.session.execute(
        db.select(sa.func.count(sa.distinct(HandoffRequest.conversation_id)))
        .join(Conversation, Conversation.id == HandoffRequest.conversation_id)
        .where(HandoffRequest.organization_id == organization_id, *in_range)
    ).scalar_one()
    return total, with_handoff


def top_documents(
    organization_id: uuid.UUID, since: date, until: date, limit: int = 10
) -> list[CitedDocument]:
    """The documents the answers of the range cited most."""
    answers = _messages(organization_id, since, until).with_only_columns(Message.id).subquery()
    citations = sa.func.count().label("citations")
    rows = db.session.execute(
        db.select(
            MessageCitation.document_id, sa.func.max(MessageCitation.document_title), citations
        )
        .where(MessageCitation.message_id.in_(db.select(answers.c.id)))
        .group_by(MessageCitation.document_id)
        .order_by(citations.desc(), sa.func.max(MessageCitation.document_title))
        .limit(limit)
    ).all()
    return [CitedDocument(*row) for row in rows]
