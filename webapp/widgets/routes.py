"""``/api/v1/widgets``: configurations of the embeddable chat widget."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from webapp.auth.access import authenticated, caller, require_owner
from webapp.models import WidgetConfiguration
from webapp.services import widgets
from webapp.widgets import schemas

blp = Blueprint(
    "widgets",
    __name__,
    url_prefix="/api/v1/widgets",
    description="Chat widgets to embed in pages. Creating and changing them needs the owner role.",
)


@blp.route("/")
class Widgets(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.WidgetSchema(many=True))
    def get(self) -> list[WidgetConfiguration]:
        """The organization's widgets."""
        return widgets.list_widgets(caller())

    @authenticated(blp)
    @blp.arguments(schemas.WidgetSchema)
    @blp.response(201, schemas.WidgetSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, fields: dict[str, Any]) -> WidgetConfiguration:
        """Create a widget (owners only); its public key is generated."""
        require_owner()
        return widgets.create(caller(), fields)


@blp.route("/<uuid:widget_id>")
class Widget(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.WidgetSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, widget_id: uuid.UUID) -> WidgetConfiguration:
        """A widget with its embed snippet."""
        return widgets.find(caller(), widget_id)

    @authenticated(blp)
    @blp.arguments(schemas.WidgetChangesSchema(partial=True))
    @blp.response(200, schemas.WidgetSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, changes: dict[str, Any], widget_id: uuid.UUID) -> WidgetConfiguration:
        """Change some fields (owners only)."""
        require_owner()
        return widgets.update(widgets.find(caller(), widget_id), changes)

    @authenticated(blp)
    @blp.response(204)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, widget_id: uuid.UUID) -> None:
        """Delete a widget (owners only)."""
        require_owner()
        widgets.delete(widgets.find(caller(), widget_id))


@blp.route("/<uuid:widget_id>/rotate-key")
class WidgetKeyRotation(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.WidgetSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, widget_id: uuid.UUID) -> WidgetConfiguration:
        """Replace the public key (owners only); embeds using the old key stop working."""
        require_owner()
        return widgets.rotate_key(widgets.find(caller(), widget_id))
