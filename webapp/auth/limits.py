"""Abuse limits of accounts, counted in Redis by flask-limiter.

* Sign-ins (the API's login and the console's form share the counters): failed attempts per
  account (``LOGIN_RATE_LIMIT_ACCOUNT``) and per client address (``LOGIN_RATE_LIMIT_ADDRESS``).
  Only a 401 counts, so a person who types the password right is never held up; once a limit
  is reached every attempt is refused with 429, the right password too, until it resets.
* Registrations per client address (``REGISTRATION_RATE_LIMIT``).
* Token refreshes (``REFRESH_RATE_LIMIT``), uploads (``UPLOAD_RATE_LIMIT``) and chat questions
  (``CHAT_RATE_LIMIT``) per user.

Each rate is read from the app's configuration at request time (``"5 per minute; 30 per
hour"``...). A refused request gets 429 ``too_many_requests`` with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, current_app, request
from flask_jwt_extended import get_jwt_identity
from flask_limiter.util import get_remote_address

from webapp.extensions import limiter
from webapp.services.accounts import normalise_email

SIGN_IN_FAILED = 401


def configured(name: str) -> Callable[[], str]:
    """The rate named ``name`` in the app's configuration, read on each request."""
    return lambda: current_app.config[name]


def account_key() -> str:
    """The account a sign-in names (JSON body or form), hashed so Redis holds no addresses."""
    if request.is_json:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    else:
        email = request.form.get("email")
    if not isinstance(email, str) or not email.strip():
        return "account:none"
    digest = hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()
    return f"account:{digest[:32]}"


def address_key() -> str:
    return f"address:{get_remote_address()}"


def user_key() -> str:
    """The token's user (the limit runs inside ``jwt_required``, so the token is verified)."""
    return f"user:{get_jwt_identity()}"


def failed_sign_in(response: Response) -> bool:
    return response.status_code == SIGN_IN_FAILED


sign_ins_per_account = limiter.shared_limit(
    configured("LOGIN_RATE_LIMIT_ACCOUNT"),
    scope="sign-in-account",
    key_func=account_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
    error_message="Too many failed sign-ins for this account: wait a while and try again.",
)
sign_ins_per_address = limiter.shared_limit(
    configured("LOGIN_RATE_LIMIT_ADDRESS"),
    scope="sign-in-address",
    key_func=address_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
    error_message="Too many failed sign-ins from your network: wait a while and try again.",
)
registrations_per_address = limiter.shared_limit(
    configured("REGISTRATION_RATE_LIMIT"),
    scope="registration",
    key_func=address_key,
    error_message="Too many registrations from your network: try again later.",
)
refreshes_per_user = limiter.shared_limit(
    configured("REFRESH_RATE_LIMIT"),
    scope="token-refresh",
    key_func=user_key,
    error_message="Too many token refreshes: wait a moment and try again.",
)
uploads_per_user = limiter.shared_limit(
    configured("UPLOAD_RATE_LIMIT"),
    scope="uploads",
    key_func=user_key,
    error_message="Too many uploads: wait a moment and try again.",
)
questions_per_user = limiter.shared_limit(
    configured("CHAT_RATE_LIMIT"),
    scope="chat-questions",
    key_func=user_key,
    error_message="Too many questions: wait a moment and try again.",
)
