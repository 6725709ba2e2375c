"""``/api/v1/auth``: register, log in, refresh, log out, and who am I."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import create_access_token, get_jwt, get_jwt_identity
from flask_smorest import Blueprint

from webapp.auth import schemas
from webapp.auth.access import authenticated, caller
from webapp.auth.tokens import issue_tokens, revoke
from webapp.models import User
from webapp.services import accounts

blp = Blueprint(
    "auth", __name__, url_prefix="/api/v1/auth", description="Accounts and JSON Web Tokens."
)


@blp.route("/register")
class Register(MethodView):
    @blp.doc(security=[])
    @blp.arguments(schemas.RegisterSchema)
    @blp.response(201, schemas.RegisteredSchema)
    @blp.alt_response(409, response="CONFLICT", description="The e-mail is already registered.")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an organization and its owner; returns the owner with tokens."""
        user = accounts.register(body["email"], body["password"], body["organization"])
        return {"user": user, **issue_tokens(user)}


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(schemas.LoginSchema)
    @blp.response(200, schemas.TokensSchema)
    @blp.alt_response(401, response="UNAUTHORIZED", description="Wrong e-mail or password.")
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Exchange an e-mail and password for an access and a refresh token."""
        return issue_tokens(accounts.authenticate(body["email"], body["password"]))


@blp.route("/refresh")
class Refresh(MethodView):
    @authenticated(blp, refresh=True)
    @blp.response(200, schemas.AccessTokenSchema)
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
