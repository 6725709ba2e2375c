"""JWTs: who a token names, whether it was revoked (in Redis), and the errors it can raise."""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Flask, Response
from flask_jwt_extended import create_access_token, create_refresh_token

from webapp.config import redis_key
from webapp.errors import error_response
from webapp.extensions import db, jwt, redis_client
from webapp.models import User

REVOKED_PREFIX = "ragkit:revoked-token:"


def issue_tokens(user: User) -> dict[str, str]:
    """A new access and refresh token for ``user``."""
    return {
        "access_token": create_access_token(identity=str(user.id)),
        "refresh_token": create_refresh_token(identity=str(user.id)),
        "token_type": "Bearer",
    }


def revoke(payload: dict[str, Any]) -> None:
    """Remember the token's id until it would have expired anyway."""
    remaining = max(int(payload["exp"] - time.time()), 1)
    redis_client.connection.set(_revoked_key(payload), "1", ex=remaining)


def is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    return bool(redis_client.connection.exists(_revoked_key(payload)))


def _revoked_key(payload: dict[str, Any]) -> str:
    return redis_key(REVOKED_PREFIX + payload["jti"])


def load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    try:
        user_id = uuid.UUID(payload["sub"])
    except (KeyError, ValueError):
        return None
    return db.session.get(User, user_id)


def _unauthorized(code: str, message: str) -> tuple[Response, int]:
    return error_response(401, message, code=code)


def init_app(app: Flask) -> None:
    """Connect flask-jwt-extended's callbacks; every token error uses the API's error shape."""
    jwt.token_in_blocklist_loader(is_revoked)
    jwt.user_lookup_loader(load_user)
    jwt.unauthorized_loader(lambda reason: _unauthorized("missing_token", reason))
    jwt.invalid_token_loader(lambda reason: _unauthorized("invalid_token", reason))
    jwt.expired_token_loader(lambda *_: _unauthorized("token_expired", "The token has expired."))
    jwt.revoked_token_loader(lambda *_: _unauthorized("token_revoked", "The token was revoked."))
    jwt.user_lookup_error_loader(
        lambda *_: _unauthorized("unknown_user", "The token's user no longer exists.")
    )
    jwt.needs_fresh_token_loader(
        lambda *_: _unauthorized("fresh_token_required", "Sign in again to do this.")
    )
    jwt.token_verification_failed_loader(
        lambda *_: _unauthorized("invalid_token", "The token was not accepted.")
    )
