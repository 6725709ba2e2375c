"""Conversations: questions stored, answered by ragkit from the organization's documents."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_smorest import abort
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from ragkit import Answer, Citation, Delta, Done, Retrieved, RetrievedChunk, Turn
from webapp.extensions import db
from webapp.models import Conversation, Feedback, Message, MessageCitation, MessageRole, User
from webapp.services.knowledge import knowledge_base
from webapp.services.pagination import Page, paginate

log = logging.getLogger(__name__)
HISTORY_TURNS = 10
TITLE_LENGTH = 80


@dataclass(frozen=True)
class Question:
    """A user message and how to search for its answer."""

    content: str
    top_k: int | None = None
    mode: str | None = None
    document_ids: list[uuid.UUID] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        return {"top_k": self.top_k, "mode": self.mode, "document_ids": self.document_ids or None}


def visible_conversations(user: User) -> sa.Select:
    """Owners see the organization's conversations; members see their own."""
    query = db.select(Conversation).where(Conversation.organization_id == user.organization_id)
    if not user.is_owner:
        query = query.where(Conversation.user_id == user.id)
    return query


def find_conversation(user: User, conversation_id: uuid.UUID) -> Conversation:
    conversation = db.session.execute(
        visible_conversations(user).where(Conversation.id == conversation_id)
    ).scalar_one_or_none()
    if conversation is None:
        abort(404, message=f"No conversation {conversation_id}.")
    return conversation


def list_conversations(user: User, page: int, per_page: int) -> Page:
    query = visible_conversations(user).order_by(Conversation.updated_at.desc(), Conversation.id)
    return paginate(query, page, per_page)


def start_conversation(user: User, title: str) -> Conversation:
    conversation = Conversation(
        organization_id=user.organization_id, user_id=user.id, title=title.strip()
    )
    db.session.add(conversation)
    db.session.commit()
    return conversation


def rename(conversation: Conversation, title: str) -> Conversation:
    conversation.title = title.strip()
    db.session.commit()
    return conversation


def delete_conversation(conversation: Conversation) -> None:
    db.session.delete(conversation)
    db.session.commit()


def messages(conversation: Conversation) -> list[Message]:
    return list(
        db.session.execute(
            db.select(Message)
            .where(Message.conversation_id == conversation.id)
            .options(selectinload(Message.citations))
            .order_by(Message.created_at, Message.id)
        ).scalars()
    )


def history(conversation: Conversation) -> list[Turn]:
    """The last turns before the new question, oldest first, for follow-up questions."""
    recent = db.session.execute(
        db.select(Message.role, Message.content)  # read, not tracked: they are not changed
        .where(
            Message.conversation_id == conversation.id,
            Message.role.in_([MessageRole.USER, MessageRole.ASSISTANT]),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(HISTORY_TURNS)
    ).all()
    return [Turn(role, content) for role, content in reversed(recent)]


def add_question(conversation: Conversation, question: Question) -> tuple[Message, list[Turn]]:
    """Store the user's message; returns it with the history that precedes it."""
    turns = history(conversation)
    message = Message(
        conversation=conversation, role=MessageRole.USER, content=question.content, citations=[]
    )
    if not conversation.title:
        conversation.title = question.content[:TITLE_LENGTH]
    conversation.updated_at = sa.func.now()
    db.session.add(message)
    commit_as_written()
    return message, turns


def ask(conversation: Conversation, question: Question) -> tuple[Message, Message]:
    """Store the question, answer it from the organization's documents, store the answer."""
    organization = str(conversation.organization_id)
    asked, turns = add_question(conversation, question)
    answer = knowledge_base().ask(
        question.content, organization, history=turns, **question.options()
    )
    return asked, add_answer(conversation.id, answer)


def add_answer(conversation_id: uuid.UUID, answer: Answer) -> Message:
    message = Message(
        conversation_id=conversation_id,
        role=MessageRole.ASSISTANT,
        content=answer.text,
        response_time=answer.elapsed,
        llm_model=answer.model,
        abstained=answer.abstained,
        citations=[MessageCitation.from_citation(citation) for citation in answer.citations],
    )
    db.session.add(message)
    commit_as_written()
    return message


def commit_as_written() -> None:
    """Commit, keeping what the session holds as it was written.

    A question's response is built from the rows just stored (their server defaults come back
    with the ``INSERT``); expiring them on commit would read each back in a query of its own.
    The session ends with the request, so nothing stays stale.
    """
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


@dataclass(frozen=True)
class Answered:
    """The last event of an answer's stream: the answer, stored as the assistant's message."""

    message: Message


# What the stream of a question sends: ragkit's events, the answer once stored.
StreamEvent = Retrieved | Delta | Answered


def stream(
    conversation_id: uuid.UUID, organization: str, turns: list[Turn], question: Question
) -> Iterator[StreamEvent]:
    """Answer as it is produced: the retrieved chunks, each piece of text, then the stored
    assistant :class:`Message`. Takes ids, not rows: it runs while the response is sent, after
    the request's database session has closed.
    """
    events = knowledge_base().stream(
        question.content, organization, history=turns, **question.options()
    )
    for event in events:
        match event:
            case Done(answer):
                yield Answered(add_answer(conversation_id, answer))
            case _:
                yield event


def passage(rank: int, chunk: RetrievedChunk) -> dict[str, Any]:
    """A retrieved chunk in the shape of a citation (``n`` is its retrieval rank)."""
    return Citation.from_chunk(rank, chunk, score=chunk.score).to_json()


def find_message(user: User, message_id: uuid.UUID) -> Message:
    conversations = visible_conversations(user).subquery()
    message = db.session.execute(
        db.select(Message)
        .join(conversations, conversations.c.id == Message.conversation_id)
        .where(Message.id == message_id)
    ).scalar_one_or_none()
    if message is None:
        abort(404, message=f"No message {message_id}.")
    return message


def give_feedback(message: Message, user: User, rating: int, comment: str) -> Feedback:
    """Record the user's rating of an answer; rating again replaces the earlier one."""
    return _rate(message, Feedback.user_id, user.id, rating, comment)


def give_visitor_feedback(message: Message, session_id: str, rating: int, comment: str) -> Feedback:
    """Record a widget visitor's rating (by their conversation's session id), like a user's."""
    return _rate(message, Feedback.session_id, session_id, rating, comment)


def _rate(
    message: Message, author: InstrumentedAttribute, author_id: Any, rating: int, comment: str
) -> Feedback:
    if message.role != MessageRole.ASSISTANT:
        abort(422, code="not_an_answer", message="Feedback is for assistant messages only.")
    values = {"message_id": message.id, author.key: author_id, "rating": rating, "comment": comment}
    statement = insert(Feedback).values(id=uuid.uuid4(), **values)
    statement = statement.on_conflict_do_update(
        index_elements=[Feedback.message_id, author],
        set_={"rating": rating, "comment": comment, "updated_at": sa.func.now()},
    ).returning(Feedback.id)
    feedback_id = db.session.execute(statement).scalar_one()
    db.session.commit()
    return db.session.get_one(Feedback, feedback_id)
