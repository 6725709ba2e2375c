"""Request and response bodies of the public widget endpoints."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from webapp.chat.schemas import ExchangeSchema, MessageSchema

__all__ = [
    "CitedPassageSchema",
    "ConversationStartSchema",
    "ExchangeSchema",
    "HandoffRequestSchema",
    "MessageSchema",
    "PublicWidgetSchema",
    "VisitorFeedbackSchema",
    "VisitorQuestionSchema",
    "VisitorTokenSchema",
]


class PublicWidgetSchema(ma.Schema):
    """What a page needs to draw the widget."""

    title = ma.fields.String(dump_only=True)
    primary_color = ma.fields.String(dump_only=True)
    welcome_message = ma.fields.String(dump_only=True)
    enable_feedback = ma.fields.Boolean(dump_only=True)
    enable_file_upload = ma.fields.Boolean(dump_only=True)
    enable_handoff = ma.fields.Function(
        lambda _widget: True,
        dump_only=True,
        metadata={"type": "boolean", "description": "Visitors can ask for a person."},
    )
    max_question_length = ma.fields.Function(
        lambda _widget: current_app.config["PUBLIC_MAX_QUESTION_LENGTH"],
        dump_only=True,
        metadata={"type": "integer", "description": "Longer questions get 413."},
    )


class ConversationStartSchema(ma.Schema):
    """Starting a conversation takes no fields (send ``{}`` or no body)."""


class VisitorTokenSchema(ma.Schema):
    conversation_id = ma.fields.Function(
        lambda started: str(started.conversation.id), metadata={"type": "string", "format": "uuid"}
    )
    token = ma.fields.String(
        metadata={"description": "Send as `Authorization: Bearer <token>` on this conversation."}
    )
    expires_at = ma.fields.DateTime()


class VisitorQuestionSchema(ma.Schema):
    content = ma.fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "The question (see `max_question_length`)."},
    )

    @ma.validates("content")
    def not_blank(self, value: str, **_: object) -> None:
        if not value.strip():
            raise ma.ValidationError("The question is empty.")


class VisitorFeedbackSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    message_id = ma.fields.UUID(dump_only=True)
    rating = ma.fields.Integer(
        required=True, validate=validate.OneOf([-1, 1]), metadata={"description": "+1 or -1"}
    )
    comment = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class CitedPassageSchema(ma.Schema):
    """A source of an answer, with the full passage it was quoted from."""

    n = ma.fields.Integer(metadata={"description": "The `[n]` in the answer."})
    title = ma.fields.String()
    source = ma.fields.String(metadata={"description": "The document's original file name."})
    page = ma.fields.Integer(allow_none=True)
    section = ma.fields.String(allow_none=True)
    quote = ma.fields.String(metadata={"description": "The quoted span."})
    passage = ma.fields.String(
        metadata={"description": "The cited chunk's text (the quote once the chunk is gone)."}
    )
    document_id = ma.fields.UUID(allow_none=True)


class HandoffRequestSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    conversation_id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(required=True, validate=validate.Length(max=320))
    message = ma.fields.String(load_default="", validate=validate.Length(max=4000))
    status = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)

    @ma.pre_load
    def strip_email(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("email"), str):
            return {**data, "email": data["email"].strip()}
        return data
