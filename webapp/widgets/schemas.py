"""Request and response bodies of the widget endpoints."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from marshmallow import validate

from webapp.models import WidgetConfiguration
from webapp.widgets.validation import validate_allowed_domain, validate_colour


class AllowedDomain(ma.fields.String):
    """A host name (``*.`` for its subdomains), optionally with a port, or ``*``; lower-case."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        host = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        validate_allowed_domain(host)
        return host


class WidgetSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = ma.fields.String(load_default="Ask us", validate=validate.Length(min=1, max=100))
    primary_color = ma.fields.String(
        load_default="#1a73e8",
        validate=[validate.Length(max=64), validate_colour],
        metadata={"description": "A CSS colour: hex, rgb(), hsl() or a name."},
    )
    welcome_message = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    allowed_domains = ma.fields.List(
        AllowedDomain(),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": (
                "Hosts whose pages may use the widget: `help.example.com` (any port), "
                "`localhost:5000` (that port), `*.example.com` (its subdomains, not "
                "example.com itself), or `*` (any page, and requests without an Origin)."
            )
        },
    )
    enable_file_upload = ma.fields.Boolean(load_default=False)
    enable_feedback = ma.fields.Boolean(load_default=True)
    conversation_count = ma.fields.Integer(dump_only=True)
    public_key = ma.fields.String(
        dump_only=True, metadata={"description": "Identifies the widget in public pages."}
    )
    embed_snippet = ma.fields.Method(
        "snippet", dump_only=True, metadata={"description": "HTML to paste into a page."}
    )
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)

    def snippet(self, widget: WidgetConfiguration) -> str:
        return (
            f'<script src="{request.host_url}widget.js" '
            f'data-widget-key="{widget.public_key}" async></script>'
        )

    @ma.post_load
    def unique_domains(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "allowed_domains" in data:
            data["allowed_domains"] = list(dict.fromkeys(data["allowed_domains"]))
        return data


class WidgetChangesSchema(WidgetSchema):
    """The fields to change; load it with ``partial=True``."""
