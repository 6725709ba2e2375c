"""``/api/v1/auth``: register, log in, refresh, log out, and who am I."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import create_access_token, get_jwt, get_jwt_identity
from flask_smorest import Blueprint

from webapp.auth import schemas
from webapp.auth.access import authenticated, caller
from webapp.auth.limits import (
    refreshes_per_user,
    registrations_per_address,
    sign_ins_per_account,
    sign_ins_per_address,
)
from webapp.auth.tokens import issue_tokens, revoke
from webapp.models import User
from webapp.services import accounts

REGISTRATION_ACCEPTED = (
    "If this address can be registered, its organization is ready: sign in with "
    "POST /api/v1/auth/login. An address that already has an account is left unchanged."
)

blp = Blueprint(
    "auth", __name__, url_prefix="/api/v1/auth", description="Accounts and JSON Web Tokens."
)


@blp.route("/register")
class Register(MethodView):
    @blp.doc(security=[])
    @blp.arguments(schemas.RegisterSchema)
    @blp.response(202, schemas.RegistrationSchema)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @registrations_per_address
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Create an organization and its owner, then sign in with `POST /login`.

        The answer is the same whether or not the address already has an account (which is
        then left unchanged), so registering cannot be used to find out who has one.
        """
        accounts.sign_up(body["email"], body["password"], body["organization"])
        return {"email": accounts.normalise_email(body["email"]), "message": REGISTRATION_ACCEPTED}


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(schemas.LoginSchema)
    @blp.response(200, schemas.TokensSchema)
    @blp.alt_response(401, response="UNAUTHORIZED", description="Wrong e-mail or password.")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS", description="Too many failed sign-ins.")
    @sign_ins_per_account
    @sign_ins_per_address
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Exchange an e-mail and password for an access and a refresh token."""
        return issue_tokens(accounts.authenticate(body["email"], body["password"]))


@blp.route("/refresh")
class Refresh(MethodView):
    @authenticated(blp, refresh=True)
    @blp.response(200, schemas.AccessTokenSchema)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @refreshes_per_user
    def post(self) -> dict[str, str]:
        """A new access token, for a refresh token in the `Authorization` header."""
        return {
            "access_token": create_access_token(identity=get_jwt_identity()),
            "token_type": "Bearer",
        }


@blp.route("/logout")
class Logout(MethodView):
    @authenticated(blp, any_token=True)
    @blp.response(204)
    def post(self) -> None:
        """Revoke the token in the `Authorization` header (call once per token to revoke both)."""
        revoke(get_jwt())


@blp.route("/me")
class Me(MethodView):
    @authenticated(blp)
    @blp.response(200, schemas.UserSchema)
    def get(self) -> User:
        """The signed-in user and their organization."""
        return caller()
