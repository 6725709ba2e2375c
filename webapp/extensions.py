"""The Flask extensions, created unbound here and wired to an app by ``init_app``."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from ragkit import Base
from webapp.errors import ErrorSchema


class DocumentedApi(Api):
    """A smorest ``Api`` whose documented error body is the one the app really returns."""

    ERROR_SCHEMA = ErrorSchema


class RedisClient:
    """A Redis connection per app, built from ``REDIS_URL`` on first use."""

    def init_app(self, app: Flask) -> None:
        # Bounded: a Redis that stops answering fails the request with 503 after REDIS_TIMEOUT.
        timeout = app.config["REDIS_TIMEOUT"]
        app.extensions["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout
        )

    @property
    def connection(self) -> redis.Redis:
        return current_app.extensions["redis"]


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
api = DocumentedApi()
cors = CORS()
# Storage and headers come from the app's RATELIMIT_* settings; the limits are on the views.
limiter = Limiter(get_remote_address)
redis_client = RedisClient()
# The console's forms; the API blueprints are exempt (webapp.console.init_app).
csrf = CSRFProtect()
