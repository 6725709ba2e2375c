"""``/api/v1/chat``: conversations, questions answered with citations, and feedback."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from ragkit import Delta, RagkitError, Retrieved
from webapp.auth.access import authenticated, caller
from webapp.auth.limits import questions_per_user
from webapp.chat import schemas
from webapp.errors import code_for, status_for
from webapp.models import Conversation, Feedback, Message
from webapp.schemas import SERVER_SENT_EVENT
from webapp.services import chat
from webapp.services.pagination import Page

log = logging.getLogger(__name__)

blp = Blueprint(
    "chat",
    __name__,
    url_prefix="/api/v1/chat",
    description=(
        "Conversations with the knowledge base. Owners see every conversation of the "
        "organization, members their own."
    ),
)


@blp.route("/conversations/")
class Conversations(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.PageQuerySchema, location="query")
    @blp.response(200, schemas.ConversationPageSchema)
    def get(self, query: dict[str, int]) -> Page:
        """Conversations, most recently active first."""
        return chat.list_conversations(caller(), query["page"], query["per_page"])

    @authenticated(blp)
    @blp.arguments(schemas.ConversationSchema)
    @blp.response(201, schemas.ConversationSchema)
    def post(self, body: dict[str, str]) -> Conversation:
        """Start a conversation (the title defaults to the first question)."""
        return chat.start_conversation(caller(), body["title"])


@blp.route("/conversations/<uuid:conversation_id>")
class ConversationResource(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.ConversationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, conversation_id: uuid.UUID) -> Conversation:
        """A conversation."""
        return chat.find_conversation(caller(), conversation_id)

    @authenticated(blp)
    @blp.arguments(schemas.ConversationChangesSchema)
    @blp.response(200, schemas.ConversationSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body: dict[str, str], conversation_id: uuid.UUID) -> Conversation:
        """Rename a conversation."""
        return chat.rename(chat.find_conversation(caller(), conversation_id), body["title"])

    @authenticated(blp)
    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, conversation_id: uuid.UUID) -> None:
        """Delete a conversation with its messages."""
        chat.delete_conversation(chat.find_conversation(caller(), conversation_id))


@blp.route("/conversations/<uuid:conversation_id>/messages/")
class Messages(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.MessageSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, conversation_id: uuid.UUID) -> list[Message]:
        """The conversation's messages, oldest first, answers with their citations."""
        return chat.messages(chat.find_conversation(caller(), conversation_id))

    @authenticated(blp)
    @blp.arguments(schemas.QuestionSchema)
    @blp.response(201, schemas.ExchangeSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @questions_per_user
    def post(self, body: dict[str, Any], conversation_id: uuid.UUID) -> dict[str, Message]:
        """Ask a question: stores it, answers from the organization's documents with citations."""
        conversation = chat.find_conversation(caller(), conversation_id)
        asked, answered = chat.ask(conversation, chat.Question(**body))
        return {"user_message": asked, "assistant_message": answered}


@blp.route("/conversations/<uuid:conversation_id>/messages/stream")
class MessageStream(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.QuestionSchema)
    @blp.response(
        200,
        SERVER_SENT_EVENT,
        content_type="text/event-stream",
        description=(
            "Server-Sent Events: `citations` (the retrieved passages, `n` = retrieval rank), "
            '`delta` (`{"text"}` pieces of the answer), then `done` (`{"user_message", '
            '"assistant_message"}` as stored, with the answer\'s citations). A failure after '
            "the stream started arrives as an `error` event with the error body."
        ),
    )
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @questions_per_user
    def post(self, body: dict[str, Any], conversation_id: uuid.UUID) -> Response:
        """Ask a question and receive the answer as it is produced."""
        conversation = chat.find_conversation(caller(), conversation_id)
        question = chat.Question(**body)
        asked, turns = chat.add_question(conversation, question)
        answer = chat.stream(conversation.id, str(conversation.organization_id), turns, question)
        events = encode(answer, schemas.MessageSchema().dump(asked))
        return Response(
            stream_with_context(events),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def encode(events: Iterator[chat.StreamEvent], asked: dict[str, Any]) -> Iterator[str]:
    """Format events for `text/event-stream`; a failure mid-stream becomes an `error` event."""
    try:
        for event in events:
            yield server_sent_event(*named(event, asked))
    except RagkitError as error:
        yield error_event(status_for(error), str(error))
    except Exception:  # the status line is sent already: the stream is the only way to tell
        log.exception("streaming an answer failed")
        yield error_event(500, "An unexpected error occurred.")


def named(event: chat.StreamEvent, asked: dict[str, Any]) -> tuple[str, Any]:
    """An event's name on the stream, and its data."""
    match event:
        case Retrieved(chunks):
            passages = [chat.passage(rank, chunk) for rank, chunk in enumerate(chunks, 1)]
            return "citations", {"citations": passages}
        case Delta(text):
            return "delta", {"text": text}
        case chat.Answered(message):
            answered = schemas.MessageSchema().dump(message)
            return "done", {"user_message": asked, "assistant_message": answered}
    raise TypeError(f"not an answer event: {event!r}")


def server_sent_event(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def error_event(status: int, message: str) -> str:
    body = {"code": code_for(status), "status": status, "message": message, "errors": {}}
    return server_sent_event("error", body)


@blp.route("/messages/<uuid:message_id>/feedback")
class MessageFeedback(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.FeedbackSchema)
    @blp.response(200, schemas.FeedbackSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict[str, Any], message_id: uuid.UUID) -> Feedback:
        """Rate an answer +1 or -1 with an optional comment; rating again replaces it."""
        message = chat.find_message(caller(), message_id)
        return chat.give_feedback(message, caller(), body["rating"], body["comment"])
