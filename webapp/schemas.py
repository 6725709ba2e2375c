"""Schemas several blueprints share: pagination."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class PageQuerySchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1))
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
