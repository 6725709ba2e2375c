"""Schemas several blueprints share: pagination."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

MAX_PAGE = 1_000_000


class PageQuerySchema(ma.Schema):
    # Bounded so that the offset, page x per_page, always fits the database's integers.
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = ma.fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PageSchema(ma.Schema):
    total = ma.fields.Integer(required=True, metadata={"description": "Items in all pages."})
    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page schema whose ``items`` are ``item_schema`` objects."""
    return PageSchema.from_dict(
        {"items": ma.fields.List(ma.fields.Nested(item_schema), required=True)}, name=name
    )


# A `text/event-stream` response, described as each of its events: the event's name and its
# `data` line, a JSON document.
SERVER_SENT_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["citations", "delta", "done", "error"]},
        "data": {"type": "string", "description": "The event's JSON body."},
    },
    "required": ["event", "data"],
}
