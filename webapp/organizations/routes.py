"""``/api/v1/organizations``: the caller's organization and its members."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from webapp.auth.access import authenticated, caller, organization, require_owner
from webapp.extensions import db
from webapp.models import Organization, User
from webapp.organizations import schemas
from webapp.services import accounts

blp = Blueprint(
    "organizations",
    __name__,
    url_prefix="/api/v1/organizations",
    description="Your organization and its members. Managing members needs the owner role.",
)


@blp.route("/current")
class CurrentOrganization(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.OrganizationSettingsSchema)
    def get(self) -> Organization:
        """The caller's organization (with its webhook secret for owners)."""
        return organization()

    @authenticated(blp)
    @blp.arguments(schemas.OrganizationChangesSchema)
    @blp.response(200, schemas.OrganizationSettingsSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    def patch(self, body: dict[str, Any]) -> Organization:
        """Rename the organization or set its webhook (owners only)."""
        require_owner()
        return accounts.change_organization(organization(), body)


@blp.route("/members")
class Members(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.MemberSchema(many=True))
    def get(self) -> list[User]:
        """Everyone in the caller's organization."""
        return organization().users

    @authenticated(blp)
    @blp.arguments(schemas.InvitationSchema)
    @blp.response(201, schemas.InvitedMemberSchema)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(409, response="CONFLICT", description="The e-mail is already registered.")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Invite someone into the organization (owners only)."""
        require_owner()
        user, temporary = accounts.invite(
            organization(), body["email"], body["role"], body["password"]
        )
        return {"member": user, "temporary_password": temporary}


@blp.route("/members/<uuid:user_id>")
class Member(MethodView):
    @authenticated(blp)
    @blp.response(204)
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, user_id: uuid.UUID) -> None:
        """Remove a member (owners only; not yourself)."""
        require_owner()
        accounts.remove_member(organization(), member_of_organization(user_id), caller())


def member_of_organization(user_id: uuid.UUID) -> User:
    member = db.session.get(User, user_id)
    if member is None or member.organization_id != organization().id:
        abort(404, message=f"No member {user_id} in your organization.")
    return member
