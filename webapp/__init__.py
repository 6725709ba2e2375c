"""The ragkit REST API: ``create_app()`` builds it (``flask --app webapp run``)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask

from ragkit import MIGRATIONS_DIR
from webapp import cli, config, docs, errors, request_checks, security
from webapp.auth import tokens
from webapp.extensions import api, cors, db, jwt, limiter, migrate, redis_client

__all__ = ["create_app"]

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "visitorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A widget visitor's token, from POST /api/v1/public/widgets/{key}/"
        "conversations; valid for that conversation only.",
    },
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then the environment, then ``test_config``.

    Args:
        test_config: settings that win over the environment, e.g. ``DATABASE_URL`` or
            ``RAGKIT_SETTINGS`` (a :class:`ragkit.Settings`). A ready ``RagKit`` can be put in
            ``app.extensions["ragkit"]`` afterwards to share a loaded model.
    """
    app = Flask(__name__, instance_relative_config=True)
    config.load(app.config, test_config)
    app.config["MEDIA_ROOT"] = app.config["MEDIA_ROOT"] or os.path.join(app.instance_path, "media")
    app.url_map.strict_slashes = False
    register_extensions(app)
    register_blueprints(app)
    errors.init_app(app)
    security.init_app(app)
    request_checks.init_app(app)
    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    import webapp.models  # noqa: F401 - the models must be in the metadata for `flask db`

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    jwt.init_app(app)
    tokens.init_app(app)
    redis_client.init_app(app)
    # The public widget API answers CORS itself, per widget (webapp.public).
    authenticated_api = re.compile(r"/api/(?!v1/public/)")
    cors.init_app(app, resources={authenticated_api: {"origins": config.cors_origins(app.config)}})
    limiter.init_app(app)
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": SECURITY_SCHEMES}})


def register_blueprints(app: Flask) -> None:
    from webapp import console, health, site
    from webapp.auth.routes import blp as auth
    from webapp.chat.routes import blp as chat
    from webapp.documents.routes import blp as documents
    from webapp.handoffs.routes import blp as handoffs
    from webapp.organizations.routes import blp as organizations
    from webapp.public.routes import blp as public
    from webapp.reindex.routes import blp as reindex
    from webapp.widgets.routes import blp as widgets

    api_blueprints = (auth, organizations, documents, chat, widgets, reindex, public, handoffs)
    for blueprint in api_blueprints:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.blp)
    app.register_blueprint(health.blp)
    site.init_app(app)
    console.init_app(app, api_blueprints)
