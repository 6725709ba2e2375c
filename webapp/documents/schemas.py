"""Request and response bodies of the document endpoints."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from ragkit import DocumentStatus
from webapp.schemas import PageQuerySchema, page_of
from webapp.services.documents import display_name

STATUSES = list(DocumentStatus)


class DocumentSchema(ma.Schema):
    """A document: dumped from a ``services.documents.UploadedDocument``."""

    id = ma.fields.UUID(attribute="document.id", dump_only=True)
    title = ma.fields.String(attribute="document.title", dump_only=True)
    description = ma.fields.String(attribute="document.description", dump_only=True)
    filename = ma.fields.Function(
        lambda found: display_name(found.document.source),
        dump_only=True,
        metadata={
            "type": "string",
            "description": "The uploaded file's name, without directories or invisible and "
            "direction-changing characters.",
        },
    )
    content_type = ma.fields.String(attribute="document.content_type", dump_only=True)
    file_size = ma.fields.Integer(
        attribute="document.file_size", dump_only=True, metadata={"description": "Bytes."}
    )
    content_hash = ma.fields.String(
        attribute="document.content_hash", dump_only=True, metadata={"description": "SHA-256."}
    )
    status = ma.fields.String(
        attribute="document.status",
        dump_only=True,
        metadata={"description": "One of " + ", ".join(STATUSES)},
    )
    processing_error = ma.fields.String(
        attribute="document.processing_error", dump_only=True, allow_none=True
    )
    chunk_count = ma.fields.Integer(attribute="document.chunk_count", dump_only=True)
    uploaded_by = ma.fields.UUID(attribute="upload.uploaded_by_id", dump_only=True, allow_none=True)
    created_at = ma.fields.DateTime(attribute="document.created_at", dump_only=True)
    updated_at = ma.fields.DateTime(attribute="document.updated_at", dump_only=True)


DocumentPageSchema = page_of(DocumentSchema, "DocumentPage")


class UploadFormSchema(ma.Schema):
    title = ma.fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Defaults to the file name without its extension."},
    )
    description = ma.fields.String(load_default="", validate=validate.Length(max=10_000))


class UploadFileSchema(ma.Schema):
    file = Upload(
        required=True,
        metadata={"description": "PDF, DOCX, HTML, Markdown, plain text or CSV (by content)."},
    )


class DocumentChangesSchema(ma.Schema):
    title = ma.fields.String(validate=validate.Length(min=1, max=500))
    description = ma.fields.String(validate=validate.Length(max=10_000))


class DocumentQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Part of the title (case-insensitive)."},
    )


class ChunkSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    chunk_index = ma.fields.Integer(dump_only=True)
    content = ma.fields.String(dump_only=True)
    page_number = ma.fields.Integer(dump_only=True, allow_none=True)
    section_title = ma.fields.String(dump_only=True, allow_none=True)
    start_char = ma.fields.Integer(dump_only=True)
    end_char = ma.fields.Integer(dump_only=True)
    token_count = ma.fields.Integer(dump_only=True)


ChunkPageSchema = page_of(ChunkSchema, "ChunkPage")
