"""Members of the organization (owners only): invite, change role, remove."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from webapp.console.access import current_organization, current_user, require_owner
from webapp.console.blueprint import blp
from webapp.extensions import db
from webapp.models import Role, User
from webapp.organizations.schemas import InvitationSchema
from webapp.services import accounts

ROLES = list(Role)
NEW_MEMBER = {"role": Role.MEMBER}


def members_page(**context: object) -> str:
    return render_template(
        "console/members.html", members=current_organization().users, roles=ROLES, **context
    )


@blp.get("/members", endpoint="members")
def members() -> str:
    require_owner()
    return members_page(errors={}, invited=None, temporary=None, fields=NEW_MEMBER)


@blp.post("/members")
def invite() -> str | tuple[str, int]:
    """Invite someone; a generated password is shown once, on this page (never in the cookie)."""
    require_owner()
    fields = {
        "email": request.form.get("email", "").strip(),
        "role": request.form.get("role", Role.MEMBER),
        "password": request.form.get("password") or None,
    }
    try:
        loaded = InvitationSchema().load(fields)
    except ma.ValidationError as error:
        messages = {name: list(value) for name, value in error.normalized_messages().items()}
        return members_page(errors=messages, invited=None, temporary=None, fields=fields), 422
    user, temporary = accounts.invite(
        current_organization(), loaded["email"], loaded["role"], loaded["password"]
    )
    page = members_page(errors={}, invited=user, temporary=temporary, fields=NEW_MEMBER)
    return page, 201


def member_of_organization(user_id: uuid.UUID) -> User:
    member = db.session.get(User, user_id)
    if member is None or member.organization_id != current_organization().id:
        abort(404, f"No member {user_id} in your organization.")
    return member


@blp.post("/members/<uuid:user_id>/role")
def change_role(user_id: uuid.UUID) -> Response:
    require_owner()
    role = request.form.get("role", "")
    if role not in ROLES:
        abort(422, "role must be owner or member.")
    member = accounts.change_role(member_of_organization(user_id), role, current_user())
    flash(f"{member.email} is now {'an owner' if member.is_owner else 'a member'}.", "success")
    return redirect(url_for("console.members"))


@blp.post("/members/<uuid:user_id>/remove")
def remove_member(user_id: uuid.UUID) -> Response:
    require_owner()
    member = member_of_organization(user_id)
    email = member.email
    accounts.remove_member(current_organization(), member, current_user())
    flash(f"Removed {email}.", "success")
    return redirect(url_for("console.members"))
