"""Who is signed in to the console, what their role allows, and how errors are shown.

The session cookie holds the user's id only; the user is read again on every request, so a
removed member is signed out at once and a changed role applies at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ragkit import RagkitError
from webapp.console.blueprint import blp
from webapp.errors import error_response, handle_http_exception, handle_ragkit_error, status_for
from webapp.extensions import db
from webapp.models import Organization, User

OPEN_ENDPOINTS = {"console.sign_in", "console.static"}


def current_user() -> User:
    """The signed-in user (the console's views only run for one)."""
    return g.console_user


def current_organization() -> Organization:
    return current_user().organization


def require_owner() -> None:
    """403 unless the signed-in user owns their organization."""
    if not current_user().is_owner:
        abort(403, "Only an owner of the organization can do this.")


def sign_in_user(user: User) -> None:
    """Start a fresh session for ``user`` (a new cookie, so a planted one is worthless)."""
    session.clear()
    session["user_id"] = str(user.id)
    session.permanent = False


def sign_out_user() -> None:
    session.clear()


def wants_json() -> bool:
    """Requests from the console's scripts (polling, uploads) get JSON, pages get HTML."""
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def session_user() -> User | None:
    raw = session.get("user_id")
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    return db.session.get(User, user_id)


@blp.before_request
def load_user() -> Response | tuple[Response, int] | None:
    g.console_user = session_user()
    if g.console_user is not None or request.endpoint in OPEN_ENDPOINTS:
        return None
    session.pop("user_id", None)
    if wants_json():
        return error_response(401, "Sign in to the console first.", code="not_signed_in")
    target = request.full_path if request.method == "GET" else None
    return _redirect_to_sign_in(target)


def _redirect_to_sign_in(target: str | None) -> Response:
    query: dict[str, Any] = {"next": target.rstrip("?")} if target else {}
    return redirect(url_for("console.sign_in", **query))


@blp.after_request
def private(response: Response) -> Response:
    """Pages show an organization's data: never cached by a shared cache or the back button."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blp.errorhandler(HTTPException)
def show_error(error: HTTPException) -> Any:
    """JSON errors for the scripts, an error page (in the console's layout) for people."""
    if isinstance(error, CSRFError):
        error.description = "The form expired or did not come from the console. Reload the page."
    if wants_json():
        return handle_http_exception(error)
    data = getattr(error, "data", None) or {}
    message = data.get("message") or error.description or error.name
    status = error.code or 500
    user = getattr(g, "console_user", None)
    return render_template("console/error.html", status=status, message=message, user=user), status


@blp.errorhandler(RagkitError)
def show_ragkit_error(error: RagkitError) -> Any:
    """The knowledge base failed (e.g. the embedding model is unavailable): say so in the page."""
    if wants_json():
        return handle_ragkit_error(error)
    status = status_for(error)
    user = getattr(g, "console_user", None)
    page = render_template("console/error.html", status=status, message=str(error), user=user)
    return page, status
