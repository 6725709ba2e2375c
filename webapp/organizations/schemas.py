"""Request and response bodies of the organization endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from webapp.auth.schemas import PASSWORD, OrganizationSchema
from webapp.models import Role

__all__ = ["InvitationSchema", "InvitedMemberSchema", "MemberSchema", "OrganizationSchema"]


class MemberSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(dump_only=True)
    role = ma.fields.String(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class InvitationSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    role = ma.fields.String(
        load_default=Role.MEMBER.value, validate=validate.OneOf([role.value for role in Role])
    )
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
