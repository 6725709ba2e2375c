"""The support console: server-rendered pages at ``/console`` behind a session cookie.

The JSON API signs requests with bearer tokens; the console signs people in with a Flask
session cookie (HttpOnly, SameSite=Lax, Secure in production) and protects every form with a
CSRF token (Flask-WTF). The API blueprints are exempt from CSRF: a cross-site page cannot make a
browser attach a bearer token.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from webapp.cli import ragkit_cli
from webapp.config import DEVELOPMENT_ENVIRONMENTS
from webapp.console import (  # noqa: F401 - each module adds its pages to the blueprint
    access,
    conversations,
    documents,
    gaps,
    handoffs,
    members,
    sign_in,
    usage,
    widgets,
)
from webapp.console.blueprint import blp
from webapp.console.commands import group_gaps_command
from webapp.errors import handle_http_exception
from webapp.extensions import csrf

__all__ = ["blp", "init_app"]


def init_app(app: Flask, api_blueprints: tuple = ()) -> None:
    """Register the console, its session cookie settings and CSRF protection.

    Args:
        app: the application.
        api_blueprints: blueprints authenticated by bearer tokens, exempt from CSRF.
    """
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Every environment but development/test is served over TLS (as check_production demands).
    app.config["SESSION_COOKIE_SECURE"] = app.config["RAGKIT_ENV"] not in DEVELOPMENT_ENVIRONMENTS
    # A console tab stays open for hours: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    for blueprint in api_blueprints:
        csrf.exempt(blueprint)
    app.register_blueprint(blp)
    app.add_url_rule("/", "home", home)
    app.register_error_handler(404, not_found)
    ragkit_cli.add_command(group_gaps_command)


def not_found(error: NotFound) -> Any:
    """A mistyped console address gets the console's page; everything else the JSON error."""
    if request.path.startswith(blp.url_prefix or "/console"):
        return access.show_error(error)
    return handle_http_exception(error)


def home() -> Response:
    return redirect(url_for("console.home"))
