"""Request and response bodies of the authentication endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

PASSWORD = validate.Length(min=8, max=256)


class RegisterSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    password = ma.fields.String(
        required=True, load_only=True, validate=PASSWORD, metadata={"description": "8+ characters"}
    )
    organization = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Name of the new organization; you become its owner."},
    )


class LoginSchema(ma.Schema):
    email = ma.fields.Email(required=True)
    password = ma.fields.String(required=True, load_only=True)


class OrganizationSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    created_at = ma.fields.DateTime(dump_only=True)


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.Email(dump_only=True)
    role = ma.fields.String(dump_only=True, metadata={"description": "`owner` or `member`"})
    organization = ma.fields.Nested(OrganizationSchema, dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class TokensSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"description": "Always `Bearer`."})


class AccessTokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True)


class RegistrationSchema(ma.Schema):
    email = ma.fields.Email(required=True, metadata={"description": "The address, normalised."})
    message = ma.fields.String(required=True)
