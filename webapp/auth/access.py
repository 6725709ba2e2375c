"""Who may call a view: a valid token for every non-public endpoint, owners for some."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint, abort

from webapp.models import Organization, User

View = Callable[..., Any]


def authenticated(blp: Blueprint, *, refresh: bool = False, any_token: bool = False) -> Callable:
    """Require a valid, unrevoked token (checked before the body is parsed) and document it.

    Args:
        blp: the blueprint whose OpenAPI documentation describes the view.
        refresh: require a refresh token instead of an access token.
        any_token: accept an access or a refresh token.
    """

    def decorate(view: View) -> View:
        documented = blp.alt_response(401, response="UNAUTHORIZED")(
            blp.doc(security=[{"bearerAuth": []}])(view)
        )
        verify_type = not any_token
        return jwt_required(refresh=refresh, verify_type=verify_type)(documented)

    return decorate


def caller() -> User:
    """The signed-in user of the request."""
    return current_user


def organization() -> Organization:
    """The caller's organization: the scope of every query."""
    return current_user.organization


def require_owner() -> None:
    """Abort with 403 unless the caller owns their organization."""
    if not current_user.is_owner:
        abort(403, message="Only an owner of the organization can do this.")
