"""``/api/v1/handoffs``: widget visitors' requests to talk to a person, for the organization."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from webapp.auth.access import authenticated, caller
from webapp.handoffs import schemas
from webapp.models import HandoffRequest
from webapp.services import handoffs
from webapp.services.pagination import Page

blp = Blueprint(
    "handoffs",
    __name__,
    url_prefix="/api/v1/handoffs",
    description=(
        "Requests from widget visitors to talk to a person, with the state of their delivery "
        "to the organization's webhook. Every member of the organization can work on them."
    ),
)


@blp.route("/")
class Handoffs(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.HandoffQuerySchema, location="query")
    @blp.response(200, schemas.HandoffPageSchema)
    def get(self, query: dict[str, Any]) -> Page:
        """Handoff requests, newest first."""
        return handoffs.list_handoffs(caller(), query["status"], query["page"], query["per_page"])


@blp.route("/<uuid:handoff_id>")
class Handoff(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.HandoffSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, handoff_id: uuid.UUID) -> HandoffRequest:
        """A handoff request."""
        return handoffs.find_handoff(caller(), handoff_id)

    @authenticated(blp)
    @blp.arguments(schemas.HandoffChangesSchema)
    @blp.response(200, schemas.HandoffSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, changes: dict[str, Any], handoff_id: uuid.UUID) -> HandoffRequest:
        """Resolve or reopen a request, or assign it to a user of your organization."""
        return handoffs.update_handoff(handoffs.find_handoff(caller(), handoff_id), changes)
