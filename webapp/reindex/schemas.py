"""Request and response bodies of the reindex endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class ReindexRequestSchema(ma.Schema):
    embed_model = ma.fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "Embed with this model (`hf:NAME`, `openai:MODEL`, ...)."},
    )
    chunk_size = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(min=32),
        metadata={"description": "Re-chunk the documents from their files with this size."},
    )
    batch_size = ma.fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "Documents per batch job."},
    )
    document_ids = ma.fields.List(
        ma.fields.UUID(),
        load_default=None,
        validate=validate.Length(min=1, max=10000),
        metadata={"description": "Only these documents (not with a change of model)."},
    )


class ReindexErrorSchema(ma.Schema):
    document_id = ma.fields.UUID()
    error = ma.fields.String()


class ReindexRunSchema(ma.Schema):
    id = ma.fields.UUID()
    state = ma.fields.String(metadata={"description": "`running`, `succeeded` or `failed`."})
    total = ma.fields.Integer()
    done = ma.fields.Integer()
    failed = ma.fields.Integer()
    pending = ma.fields.Integer()
    embed_model = ma.fields.String()
    dimensions = ma.fields.Integer()
    switches_index = ma.fields.Boolean(
        metadata={"description": "The run builds a new index and switches to it when complete."}
    )
    errors = ma.fields.List(ma.fields.Nested(ReindexErrorSchema))
    error = ma.fields.String(allow_none=True)
