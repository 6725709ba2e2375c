"""Widgets: create and edit with a live preview, embed snippet, allowed domains, key rotation."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.console.access import current_user, require_owner
from webapp.console.blueprint import blp
from webapp.models import WidgetConfiguration
from webapp.services import widgets
from webapp.widgets.schemas import WidgetSchema

DEFAULTS = {"title": "Ask us", "primary_color": "#1a73e8", "enable_feedback": True}


def submitted_fields() -> dict[str, Any]:
    """The form as the API's widget schema reads it (one allowed domain per line)."""
    form = request.form
    return {
        "name": form.get("name", "").strip(),
        "title": form.get("title", "").strip(),
        "primary_color": form.get("primary_color", "").strip(),
        "welcome_message": form.get("welcome_message", ""),
        "allowed_domains": [line.strip() for line in form.get("allowed_domains", "").split()],
        "enable_feedback": form.get("enable_feedback") == "on",
        "enable_file_upload": form.get("enable_file_upload") == "on",
    }


def validated(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The fields loaded by the same schema as the API, or the messages per field."""
    try:
        return WidgetSchema().load(fields), {}
    except ma.ValidationError as error:
        messages = error.normalized_messages()
        return fields, {name: flatten(value) for name, value in messages.items()}


def flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in flatten(value)]
    return [str(text) for text in messages]


@blp.get("/widgets", endpoint="widgets")
def widgets_page() -> str:
    return render_template("console/widgets.html", widgets=widgets.list_widgets(current_user()))


@blp.route("/widgets/new", methods=["GET", "POST"])
def new_widget() -> str | Response | tuple[str, int]:
    require_owner()
    if request.method == "GET":
        return render_template("console/widget.html", widget=None, fields=DEFAULTS, errors={})
    fields, errors = validated(submitted_fields())
    if errors:
        page = render_template("console/widget.html", widget=None, fields=fields, errors=errors)
        return page, 422
    widget = widgets.create(current_user(), fields)
    flash(f"Created the widget {widget.name}. Paste its snippet into your pages.", "success")
    return redirect(url_for("console.widget", widget_id=widget.id))


@blp.route("/widgets/<uuid:widget_id>", methods=["GET", "POST"])
def widget(widget_id: uuid.UUID) -> str | Response | tuple[str, int]:
    found = widgets.find(current_user(), widget_id)
    if request.method == "GET":
        return edit_page(found, fields_of(found), {})
    require_owner()
    fields, errors = validated(submitted_fields())
    if errors:
        return edit_page(found, fields, errors), 422
    widgets.update(found, fields)
    flash("Saved. Pages that embed the widget show the change on their next load.", "success")
    return redirect(url_for("console.widget", widget_id=found.id))


def fields_of(widget: WidgetConfiguration) -> dict[str, Any]:
    return {name: getattr(widget, name) for name in submitted_fields_names()}


def submitted_fields_names() -> tuple[str, ...]:
    return (
        "name",
        "title",
        "primary_color",
        "welcome_message",
        "allowed_domains",
        "enable_feedback",
        "enable_file_upload",
    )


def edit_page(widget: WidgetConfiguration, fields: dict[str, Any], errors: dict) -> str:
    snippet = WidgetSchema().snippet(widget)
    return render_template(
        "console/widget.html", widget=widget, fields=fields, errors=errors, snippet=snippet
    )


@blp.post("/widgets/<uuid:widget_id>/rotate-key")
def rotate_key(widget_id: uuid.UUID) -> Response:
    require_owner()
    widget = widgets.rotate_key(widgets.find(current_user(), widget_id))
    flash("New key issued: pages embedding the old key no longer load the widget.", "success")
    return redirect(url_for("console.widget", widget_id=widget.id))


@blp.post("/widgets/<uuid:widget_id>/delete")
def delete_widget(widget_id: uuid.UUID) -> Response:
    require_owner()
    widget = widgets.find(current_user(), widget_id)
    name = widget.name
    widgets.delete(widget)
    flash(f"Deleted the widget {name}.", "success")
    return redirect(url_for("console.widgets"))
