"""Request and response bodies of the organization endpoints."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user
from marshmallow import validate

from webapp.auth.schemas import PASSWORD, OrganizationSchema
from webapp.models import Organization, Role

__all__ = [
    "InvitationSchema",
    "InvitedMemberSchema",
    "MemberSchema",
    "OrganizationChangesSchema",
    "OrganizationSchema",
    "OrganizationSettingsSchema",
]


class OrganizationSettingsSchema(OrganizationSchema):
    """The organization with its webhook; the secret is shown to owners only."""

    webhook_url = ma.fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Where handoff requests are POSTed (null: nowhere)."},
    )
    webhook_secret = ma.fields.Method(
        "owners_only",
        dump_only=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Signs webhook bodies (X-Ragkit-Signature); null for members.",
        },
    )

    def owners_only(self, organization: Organization) -> str | None:
        return organization.webhook_secret if current_user.is_owner else None


class OrganizationChangesSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    webhook_url = ma.fields.Url(
        allow_none=True,
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "An http(s) URL, or null to stop sending handoffs."},
    )
    rotate_webhook_secret = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Replace the secret (one is generated with the first URL)."},
    )


class MemberSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(dump_only=True)
    role = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class InvitationSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    role = ma.fields.String(load_default=Role.MEMBER, validate=validate.OneOf(list(Role)))
    password = ma.fields.String(
        load_default=None,
        validate=PASSWORD,
        metadata={"description": "Initial password; one is generated when omitted."},
    )


class InvitedMemberSchema(ma.Schema):
    member = ma.fields.Nested(MemberSchema, required=True)
    temporary_password = ma.fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The generated password, shown once (null if you set one)."},
    )
