"""Reviewing conversations: filters over the ones a user may see, and what each one contains."""

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
    MessageRole,
    User,
    WidgetConfiguration,
)
from webapp.services.chat import visible_conversations
from webapp.services.documents import escape_like
from webapp.services.pagination import Page, paginate

SOURCES = ("widget", "api")
RATINGS = {"up": 1, "down": -1}


@dataclass(frozen=True)
class ConversationFilters:
    """What the conversation list is narrowed to; every field is optional."""

    source: str | None = None
    since: date | None = None
    until: date | None = None
    rating: str | None = None
    abstained: bool = False
    handoff: bool = False
    text: str = ""


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    widget_name: str | None
    questions: int
    abstained: bool
    rated_up: bool
    rated_down: bool
    handoff: bool


def _answer_flag(*conditions: sa.ColumnElement) -> sa.Exists:
    return (
        db.select(Message.id)
        .where(Message.conversation_id == Conversation.id, *conditions)
        .exists()
    )


def _rated(rating: int) -> sa.Exists:
    return (
        db.select(Feedback.id)
        .join(Message, Message.id == Feedback.message_id)
        .where(Message.conversation_id == Conversation.id, Feedback.rating == rating)
        .exists()
    )


def _handed_off() -> sa.Exists:
    return (
        db.select(HandoffRequest.id)
        .where(HandoffRequest.conversation_id == Conversation.id)
        .exists()
    )


def _abstained() -> sa.Exists:
    return _answer_flag(Message.role == MessageRole.ASSISTANT, Message.abstained.is_(True))


def filtered(user: User, filters: ConversationFilters) -> sa.Select:
    """The conversations ``user`` may see (as in the API) that match ``filters``."""
    query = visible_conversations(user)
    if filters.source == "widget":
        query = query.where(Conversation.widget_id.is_not(None))
    elif filters.source == "api":
        query = query.where(Conversation.widget_id.is_(None))
    if filters.since:
        query = query.where(Conversation.created_at >= datetime.combine(filters.since, time()))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), time())
        query = query.where(Conversation.created_at < end)
    if filters.rating in RATINGS:
        query = query.where(_rated(RATINGS[filters.rating]))
    if filters.abstained:
        query = query.where(_abstained())
    if filters.handoff:
        query = query.where(_handed_off())
    if filters.text:
        pattern = f"%{escape_like(filters.text)}%"
        query = query.where(
            _answer_flag(
                Message.role == MessageRole.USER,
                Message.content.ilike(pattern, escape="\\"),
            )
        )
    return query


def search(user: User, filters: ConversationFilters, page: int, per_page: int) -> Page:
    """A page of matching conversations, most recently active first, with their flags."""
    questions = (
        db.select(sa.func.count(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.role == MessageRole.USER)
        .scalar_subquery()
    )
    query = (
        filtered(user, filters)
        .add_columns(
            WidgetConfiguration.name,
            questions,
            _abstained(),
            _rated(1),
            _rated(-1),
            _handed_off(),
        )
        .outerjoin(WidgetConfiguration, WidgetConfiguration.id == Conversation.widget_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
    )
    return paginate(query, page, per_page, lambda row: ConversationRow(*row))


def ratings(conversation_id: uuid.UUID) -> dict[uuid.UUID, list[int]]:
    """The ratings given to each answer of a conversation."""
    rows = db.session.execute(
        db.select(Feedback.message_id, Feedback.rating)
        .join(Message, Message.id == Feedback.message_id)
        .where(Message.conversation_id == conversation_id)
    ).all()
    found: dict[uuid.UUID, list[int]] = {}
    for message_id, rating in rows:
        found.setdefault(message_id, []).append(rating)
    return found


def handoffs_of(conversation_id: uuid.UUID) -> list[HandoffRequest]:
    return list(
        db.session.execute(
            db.select(HandoffRequest)
            .where(HandoffRequest.conversation_id == conversation_id)
            .order_by(HandoffRequest.created_at)
        ).scalars()
    )
