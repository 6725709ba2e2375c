"""Request and response bodies of the chat endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from ragkit import RETRIEVAL_MODES
from webapp.schemas import PageQuerySchema, page_of

__all__ = [
    "CitationSchema",
    "ConversationPageSchema",
    "ConversationSchema",
    "ExchangeSchema",
    "FeedbackSchema",
    "MessageSchema",
    "PageQuerySchema",
    "QuestionSchema",
]


class CitationSchema(ma.Schema):
    """A cited passage: the fields of `ragkit ask --json`, kept as a snapshot."""

    n = ma.fields.Integer(attribute="rank", metadata={"description": "The `[n]` in the text."})
    chunk_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "null once the chunk was reindexed or deleted"}
    )
    document_id = ma.fields.UUID(allow_none=True)
    title = ma.fields.String(attribute="document_title")
    source = ma.fields.String(metadata={"description": "The document's original file name."})
    page = ma.fields.Integer(attribute="page_number", allow_none=True)
    section = ma.fields.String(attribute="section_title", allow_none=True)
    quote = ma.fields.String()
    score = ma.fields.Float()


class MessageSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    conversation_id = ma.fields.UUID(dump_only=True)
    role = ma.fields.String(dump_only=True, metadata={"description": "user, assistant or system"})
    content = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    response_time = ma.fields.Float(
        dump_only=True, allow_none=True, metadata={"description": "Seconds to answer."}
    )
    llm_model = ma.fields.String(dump_only=True, allow_none=True)
    abstained = ma.fields.Boolean(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The knowledge base had no answer (assistant messages)."},
    )
    citations = ma.fields.List(ma.fields.Nested(CitationSchema), dump_only=True)


class ExchangeSchema(ma.Schema):
    user_message = ma.fields.Nested(MessageSchema, required=True)
    assistant_message = ma.fields.Nested(MessageSchema, required=True)


class QuestionSchema(ma.Schema):
    content = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "The question."},
    )
    top_k = ma.fields.Integer(validate=validate.Range(min=1, max=20), load_default=None)
    mode = ma.fields.String(validate=validate.OneOf(RETRIEVAL_MODES), load_default=None)
    document_ids = ma.fields.List(
        ma.fields.UUID(),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Search only these documents."},
    )

    @ma.validates("content")
    def not_blank(self, value: str, **_: object) -> None:
        if not value.strip():
            raise ma.ValidationError("The question is empty.")


class ConversationSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    title = ma.fields.String(load_default="", validate=validate.Length(max=200))
    user_id = ma.fields.UUID(dump_only=True, allow_none=True)
    widget_id = ma.fields.UUID(dump_only=True, allow_none=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class ConversationChangesSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(max=200))


ConversationPageSchema = page_of(ConversationSchema, "ConversationPage")


class FeedbackSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    message_id = ma.fields.UUID(dump_only=True)
    user_id = ma.fields.UUID(dump_only=True)
    rating = ma.fields.Integer(
        required=True, validate=validate.OneOf([-1, 1]), metadata={"description": "+1 or -1"}
    )
    comment = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
