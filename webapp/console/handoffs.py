"""Handoff requests: who asked for a person, assignment, resolution, webhook delivery."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.console.access import current_organization, current_user
from webapp.console.blueprint import blp
from webapp.console.forms import PER_PAGE, form_uuid, page_number
from webapp.models import HandoffStatus
from webapp.services import handoffs

STATUSES = list(HandoffStatus)


@blp.get("/handoffs", endpoint="handoffs")
def handoffs_page() -> str:
    status = request.args.get("status", HandoffStatus.OPEN)
    status = status if status in STATUSES else None
    found = handoffs.list_handoffs(current_user(), status, page_number(), PER_PAGE)
    return render_template(
        "console/handoffs.html",
        page=found,
        status=status,
        members=current_organization().users,
    )


@blp.post("/handoffs/<uuid:handoff_id>")
def update_handoff(handoff_id: uuid.UUID) -> Response:
    """Assign (``assigned_to``, empty for nobody) or resolve/reopen (``status``)."""
    handoff = handoffs.find_handoff(current_user(), handoff_id)
    changes: dict = {}
    if "assigned_to" in request.form:
        changes["assigned_to"] = form_uuid("assigned_to")
    if "status" in request.form:
        if request.form["status"] not in STATUSES:
            abort(422, "status must be open or resolved.")
        changes["status"] = request.form["status"]
    if not changes:
        abort(422, "Nothing to change: send assigned_to or status.")
    handoffs.update_handoff(handoff, changes)
    flash(f"The request from {handoff.email} is {describe(handoff)}.", "success")
    back = request.form.get("back_status", "")
    return redirect(
        url_for("console.handoffs", status=back if back in STATUSES else "all")
        + f"#handoff-{handoff.id}"
    )


def describe(handoff: handoffs.HandoffRequest) -> str:
    owner = next(
        (user.email for user in current_organization().users if user.id == handoff.assigned_to_id),
        None,
    )
    assigned = f"assigned to {owner}" if owner else "unassigned"
    return f"{handoff.status} and {assigned}"
