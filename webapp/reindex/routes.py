"""``/api/v1/reindex``: reindex the organization's documents in batches and follow the run."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from ragkit import ReindexRun, reindex_progress
from webapp.auth.access import authenticated, organization, require_owner
from webapp.extensions import db
from webapp.reindex import schemas
from webapp.services.knowledge import knowledge_base
from webapp.services.processing import start_reindex

blp = Blueprint(
    "reindex",
    __name__,
    url_prefix="/api/v1/reindex",
    description=(
        "Re-embed the organization's documents (with another model: into a new index that "
        "replaces the current one only when every document succeeded) or re-chunk them."
    ),
)


@blp.route("/")
class ReindexRuns(MethodView):
    @authenticated(blp)
    @blp.arguments(schemas.ReindexRequestSchema)
    @blp.response(202, schemas.ReindexRunSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(403, response="FORBIDDEN")
    def post(self, scope: dict[str, Any]) -> dict[str, Any]:
        """Start a reindex run of the organization's documents (owners only)."""
        require_owner()
        progress = start_reindex(organization=organization().namespace, **scope)
        return progress.to_json()


@blp.route("/<uuid:run_id>")
class ReindexRunResource(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.ReindexRunSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, run_id: uuid.UUID) -> dict[str, Any]:
        """The run's progress: total, done, failed, pending, state and the failures."""
        run = db.session.get(ReindexRun, run_id)
        if run is None or run.organization_id != organization().namespace:
            abort(404, message=f"No reindex run {run_id} in your organization.")
        return reindex_progress(knowledge_base(), run_id).to_json()
