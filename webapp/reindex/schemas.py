"""Request and response bodies of the reindex endpoints."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from marshmallow import validate

from webapp.config import allowed_embed_models

# Tokens per chunk: far above any embedding model's input, far below what could overflow.
MAX_CHUNK_SIZE = 8192


class ReindexRequestSchema(ma.Schema):
    embed_model = ma.fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=300),
        metadata={
            "description": "Embed with this model: the shipped model, `RAGKIT_EMBED_MODEL` or one "
            "listed in `RAGKIT_ALLOWED_EMBED_MODELS`."
        },
    )
    chunk_size = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(min=32, max=MAX_CHUNK_SIZE),
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

    @ma.validates("embed_model")
    def validate_embed_model(self, value: str | None, **_: object) -> None:
        # Names only, never probed: the answer must not tell whether a path exists.
        allowed = allowed_embed_models(current_app.config)
        if value is not None and value not in allowed:
            raise ma.ValidationError(
                f"Not an allowed embedding model; choose one of: {', '.join(sorted(allowed))}."
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
