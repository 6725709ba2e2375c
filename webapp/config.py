"""Configuration of the web application: defaults, then the environment, then the caller's dict.

Any ``RAGKIT_ENV`` other than ``development`` or ``test`` (``production``, ``prod``, ``staging``...)
makes :func:`check_production` refuse a missing, development or weak secret.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Config, current_app
from limits import parse_many
from sqlalchemy.engine import make_url

from ragkit import (
    DEFAULT_EMBED_MODEL,
    ConfigurationError,
    Settings,
    engine_options,
    normalise_url,
    start_embedded,
)
from webapp.errors import InsecureConfiguration
from workers.queue import DEFAULT_REDIS_URL, checked_prefix, prefixed

DEVELOPMENT_SECRET = "development-only-secret-change-me"
DEVELOPMENT_ENVIRONMENTS = frozenset({"development", "test"})
SECRET_SETTINGS = ("SECRET_KEY", "JWT_SECRET_KEY")
MIN_SECRET_LENGTH = 32
# Shannon entropy per character of the secret's own characters: `secrets.token_hex(16)` scores
# about 3.6 (never below 3 in practice), `"a" * 40` scores 0 and `"abab..."` 1.
MIN_SECRET_ENTROPY_BITS = 2.5
MEBIBYTE = 1024 * 1024
# Room for the multipart envelope and the form fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
PROCESSING_MODES = ("inline", "queue")
PUBLIC_RATE_LIMITS = (
    "PUBLIC_RATE_LIMIT_VISITOR",
    "PUBLIC_RATE_LIMIT_WIDGET",
    "PUBLIC_CONVERSATIONS_PER_IP",
)
# Abuse limits of the authenticated API and the console's sign-in (webapp.auth.limits).
ACCOUNT_RATE_LIMITS = (
    "LOGIN_RATE_LIMIT_ACCOUNT",
    "LOGIN_RATE_LIMIT_ADDRESS",
    "REGISTRATION_RATE_LIMIT",
    "REFRESH_RATE_LIMIT",
    "UPLOAD_RATE_LIMIT",
    "CHAT_RATE_LIMIT",
)

DEFAULTS: dict[str, Any] = {
    "RAGKIT_ENV": "development",
    "SECRET_KEY": DEVELOPMENT_SECRET,
    "JWT_SECRET_KEY": DEVELOPMENT_SECRET,
    "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=15),
    "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=30),
    "JWT_TOKEN_LOCATION": ["headers"],
    "DATABASE_URL": None,
    "REDIS_URL": DEFAULT_REDIS_URL,
    "RAGKIT_QUEUE_PREFIX": "",
    "PROCESSING_MODE": None,
    "MEDIA_ROOT": "instance/media",
    "MAX_UPLOAD_MB": 20,
    "CORS_ORIGINS": "",
    "RAGKIT_SETTINGS": None,
    # Extra options of the web app's engine, over ragkit's (pre-ping, recycle, connect bounds).
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Seconds to connect to Redis, and for each command, before it counts as down (503).
    "REDIS_TIMEOUT": 2.0,
    "API_TITLE": "ragkit",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
    "JSON_SORT_KEYS": False,
    "PUBLIC_RATE_LIMIT_VISITOR": "20 per minute",
    "PUBLIC_RATE_LIMIT_WIDGET": "600 per minute",
    "PUBLIC_CONVERSATIONS_PER_IP": "30 per hour",
    "PUBLIC_MAX_QUESTION_LENGTH": 1000,
    "PUBLIC_TOKEN_DAYS": 7,
    "WEBHOOK_TIMEOUT": 10,
    # Failed sign-ins only count: a person who types their password right is never held up.
    "LOGIN_RATE_LIMIT_ACCOUNT": "5 per minute; 30 per hour",
    "LOGIN_RATE_LIMIT_ADDRESS": "30 per minute; 300 per hour",
    "REGISTRATION_RATE_LIMIT": "10 per hour",
    "REFRESH_RATE_LIMIT": "30 per minute",
    "UPLOAD_RATE_LIMIT": "120 per minute; 2000 per day",
    "CHAT_RATE_LIMIT": "30 per minute; 1000 per day",
    "RATELIMIT_HEADERS_ENABLED": True,
    "RAGKIT_ALLOWED_EMBED_MODELS": "",
}

ENVIRONMENT: dict[str, Any] = {
    "RAGKIT_ENV": str,
    "SECRET_KEY": str,
    "JWT_SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "REDIS_TIMEOUT": float,
    "RAGKIT_QUEUE_PREFIX": str,
    "PROCESSING_MODE": str,
    "MEDIA_ROOT": str,
    "MAX_UPLOAD_MB": float,
    "CORS_ORIGINS": str,
    "PUBLIC_RATE_LIMIT_VISITOR": str,
    "PUBLIC_RATE_LIMIT_WIDGET": str,
    "PUBLIC_CONVERSATIONS_PER_IP": str,
    "PUBLIC_MAX_QUESTION_LENGTH": int,
    "PUBLIC_TOKEN_DAYS": float,
    "WEBHOOK_TIMEOUT": float,
    "RAGKIT_ALLOWED_EMBED_MODELS": str,
    **{name: str for name in ACCOUNT_RATE_LIMITS},
}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets (empty variables count as unset)."""
    return {
        name: convert(environ[name]) for name, convert in ENVIRONMENT.items() if environ.get(name)
    }


def load(config: Config, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``config``: defaults, then ``os.environ``, then ``overrides``; derive the rest."""
    config.from_mapping(DEFAULTS)
    config.from_mapping(from_environment(os.environ))
    if overrides:
        config.from_mapping(overrides)
    check_production(config)
    if config["RAGKIT_SETTINGS"] is None:
        config["RAGKIT_SETTINGS"] = Settings.from_env()
    config["DATABASE_URL"] = database_url(config)
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(make_url(config["DATABASE_URL"])),
        **config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"] * MEBIBYTE) + MULTIPART_OVERHEAD
    config["PROCESSING_MODE"] = processing_mode(config)
    config["RATELIMIT_STORAGE_URI"] = config.get("RATELIMIT_STORAGE_URI") or limits_storage(
        config["REDIS_URL"]
    )
    config["RATELIMIT_STORAGE_OPTIONS"] = config.get("RATELIMIT_STORAGE_OPTIONS") or redis_timeouts(
        config
    )
    check_public_limits(config)
    config["RAGKIT_QUEUE_PREFIX"] = checked_prefix(config["RAGKIT_QUEUE_PREFIX"] or "")
    config["RATELIMIT_KEY_PREFIX"] = config.get("RATELIMIT_KEY_PREFIX") or prefixed(
        "ragkit-limits", config["RAGKIT_QUEUE_PREFIX"]
    )


def database_url(config: Config) -> str:
    """``DATABASE_URL`` for psycopg 3, or the URL of ragkit's embedded server."""
    raw = config["DATABASE_URL"]
    url = normalise_url(raw) if raw else start_embedded(config["RAGKIT_SETTINGS"].home)
    return url.render_as_string(hide_password=False)


def redis_timeouts(config: Config) -> dict[str, float]:
    """Socket options that make a Redis that does not answer count as down, not hang a request."""
    return {
        "socket_timeout": config["REDIS_TIMEOUT"],
        "socket_connect_timeout": config["REDIS_TIMEOUT"],
    }


def processing_mode(config: Config) -> str:
    """``queue`` (RQ workers) when the app runs, ``inline`` (in the request) when testing."""
    mode = (config["PROCESSING_MODE"] or ("inline" if config.get("TESTING") else "queue")).lower()
    if mode not in PROCESSING_MODES:
        raise ConfigurationError(
            f"PROCESSING_MODE must be one of {', '.join(PROCESSING_MODES)}, not {mode!r}"
        )
    return mode


def limits_storage(redis_url: str) -> str:
    """``REDIS_URL`` as flask-limiter's storage URI (which spells Unix sockets ``redis+unix``)."""
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def check_public_limits(config: Config) -> None:
    """Refuse to start with a rate limit flask-limiter cannot read, or no question length."""
    for name in PUBLIC_RATE_LIMITS + ACCOUNT_RATE_LIMITS:
        try:
            parse_many(config[name])
        except ValueError as error:
            raise ConfigurationError(
                f"{name}={config[name]!r} is not a rate limit (e.g. '20 per minute')"
            ) from error
    if config["PUBLIC_MAX_QUESTION_LENGTH"] < 1:
        raise ConfigurationError("PUBLIC_MAX_QUESTION_LENGTH must be at least 1")


def check_production(config: Config) -> None:
    """Outside development and tests, refuse to start with a missing, development or weak secret.

    The environment name is normalised (``" Production "`` is ``production``) and stored so.
    """
    environment = normalise_environment(config["RAGKIT_ENV"])
    config["RAGKIT_ENV"] = environment
    if environment in DEVELOPMENT_ENVIRONMENTS:
        return
    for name in SECRET_SETTINGS:
        problem = secret_problem(config.get(name))
        if problem:
            raise InsecureConfiguration(
                f"RAGKIT_ENV={environment} refuses {name}: it is {problem}; set it to a long "
                f'random value, e.g. python -c "import secrets; print(secrets.token_hex(32))"'
            )


def normalise_environment(name: str | None) -> str:
    """``" Production "`` -> ``production``; unset counts as ``development``."""
    return (name or "").strip().lower() or "development"


def secret_problem(secret: str | None) -> str | None:
    """Why ``secret`` is unfit for production, or ``None`` when it is strong enough."""
    if not secret:
        return "missing"
    if secret == DEVELOPMENT_SECRET:
        return "the development secret"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if entropy_per_character(secret) < MIN_SECRET_ENTROPY_BITS:
        return "too predictable (too few distinct characters)"
    return None


def entropy_per_character(text: str) -> float:
    """Shannon entropy, in bits, of the distribution of ``text``'s characters."""
    counts = Counter(text).values()
    return -sum(count / len(text) * math.log2(count / len(text)) for count in counts)


def allowed_embed_models(config: Mapping[str, Any]) -> frozenset[str]:
    """Models a reindex may switch to: the shipped one, the configured one and the listed ones."""
    listed = (name.strip() for name in config["RAGKIT_ALLOWED_EMBED_MODELS"].split(","))
    configured = {DEFAULT_EMBED_MODEL, config["RAGKIT_SETTINGS"].embed_model}
    return frozenset(configured | {name for name in listed if name})


def cors_origins(config: Config) -> list[str]:
    """The origins allowed to call the API from a browser (comma-separated in the config)."""
    return [origin.strip() for origin in config["CORS_ORIGINS"].split(",") if origin.strip()]


def queue_prefix() -> str:
    """This app's ``RAGKIT_QUEUE_PREFIX``: its queues, job ids and Redis keys carry it."""
    return str(current_app.config["RAGKIT_QUEUE_PREFIX"])


def redis_key(name: str) -> str:
    """A key of this app in Redis, under its prefix, so deployments sharing a Redis never meet."""
    return prefixed(name, queue_prefix())
