"""One JSON error shape for every failure: ``{"code", "status", "message", "errors"}``.

``status`` is the HTTP status, ``code`` a stable machine-readable name (``not_found``,
``token_expired``, ``duplicate_document``...), ``message`` a sentence for people and ``errors``
the details (per-field validation messages, or ``{}``).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
import psycopg
import sqlalchemy.exc
from flask import Flask, Response, jsonify
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from ragkit import (
    AnswerError,
    ConfigurationError,
    DatabaseError,
    DocumentChanged,
    DocumentNotFound,
    DocumentReadError,
    DocumentTooLarge,
    EmbeddingError,
    IndexNotReady,
    RagkitError,
    ReindexFailed,
    UnsupportedFileType,
)

log = logging.getLogger(__name__)

# Seconds a client is asked to wait when a backing service (database, Redis) is down.
RETRY_AFTER_SECONDS = 5
# Errors that mean the database could not be reached, not that the statement was wrong (a
# TimeoutError: every pooled connection is held by requests waiting on a database that hangs).
DATABASE_OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class WebappError(Exception):
    """Root of the errors the web application raises on purpose."""


class InsecureConfiguration(WebappError):
    """The application would run in production with a default or missing secret."""


class ErrorSchema(ma.Schema):
    """The body of every error response."""

    code = ma.fields.String(
        required=True, metadata={"description": "Machine-readable error name, e.g. `not_found`."}
    )
    status = ma.fields.Integer(required=True, metadata={"description": "The HTTP status."})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong."})
    errors = ma.fields.Dict(
        required=True,
        metadata={"description": "Details: validation messages per location and field."},
    )
    document_id = ma.fields.UUID(
        metadata={"description": "Only on `duplicate_document`: the existing document."}
    )


# Every ragkit error has its status here (a test checks that none is left out); an error whose
# class is not listed falls back to its nearest listed base class, then to 500.
RAGKIT_STATUSES: dict[type[RagkitError], int] = {
    UnsupportedFileType: 415,
    DocumentReadError: 422,
    DocumentTooLarge: 413,
    DocumentNotFound: 404,
    DocumentChanged: 409,
    ConfigurationError: 400,
    IndexNotReady: 409,
    EmbeddingError: 503,
    AnswerError: 503,
    DatabaseError: 503,
    ReindexFailed: 500,
}
# Errors whose status alone does not say what happened (the others' code is their status's name).
RAGKIT_CODES: dict[type[RagkitError], str] = {
    DocumentTooLarge: "document_too_large",
    DocumentChanged: "document_changed",
    ReindexFailed: "reindex_failed",
}


def code_for(status: int) -> str:
    """``404`` -> ``not_found``."""
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    errors: dict[str, Any] | None = None,
    **extra: Any,
) -> tuple[Response, int]:
    """The JSON response of an error."""
    body = {
        "code": code or code_for(status),
        "status": status,
        "message": message,
        "errors": errors or {},
        **extra,
    }
    return jsonify(body), status


def handle_http_exception(error: HTTPException) -> tuple[Response, int]:
    """Every HTTP error, including ``abort(...)`` with smorest's keyword arguments."""
    status = error.code or 500
    data = dict(getattr(error, "data", None) or {})
    errors = data.pop("errors", None) or data.pop("messages", None)
    # Werkzeug's own headers, e.g. `Allow` on a 405, then those given to `abort(headers=...)`.
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    headers.update(data.pop("headers", None) or {})
    message = data.pop("message", None) or _describe(error, errors)
    data.pop("exc", None)
    data.pop("schema", None)
    response, status = error_response(status, message, errors=errors, **data)
    response.headers.update(headers)
    return response, status


def _describe(error: HTTPException, errors: Any) -> str:
    if errors and error.code == 422:
        return "The request is not valid: see errors."
    if error.code == 413:
        return "The request is larger than the upload limit."
    return error.description or error.name


def status_for(error: RagkitError) -> int:
    """The HTTP status of a ragkit error: its class's, else its nearest base class's, else 500."""
    return next(
        (RAGKIT_STATUSES[kind] for kind in type(error).__mro__ if kind in RAGKIT_STATUSES), 500
    )


def ragkit_code_for(error: RagkitError) -> str:
    """The ``code`` of a ragkit error: its own name where it has one, else its status's name."""
    kind = next((kind for kind in type(error).__mro__ if kind in RAGKIT_CODES), None)
    return RAGKIT_CODES[kind] if kind else code_for(status_for(error))


def handle_ragkit_error(error: RagkitError) -> tuple[Response, int]:
    status = status_for(error)
    if status >= 500:
        log.error("ragkit failed: %s", error)
    return error_response(status, str(error), code=ragkit_code_for(error))


def handle_redis_error(error: RedisError) -> tuple[Response, int]:
    log.error("Redis is unavailable: %s", error)
    return service_unavailable("The token store is unavailable; try again shortly.")


def handle_database_outage(error: Exception) -> tuple[Response, int]:
    log.error("the database is unavailable: %s", error)
    return service_unavailable("The database is unavailable; try again shortly.")


def service_unavailable(message: str) -> tuple[Response, int]:
    """A 503 that tells the client when to try again."""
    response, status = error_response(503, message, code="service_unavailable")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def handle_unexpected(error: Exception) -> tuple[Response, int]:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "An unexpected error occurred.")


def init_app(app: Flask) -> None:
    """Register the handlers; call after the smorest ``Api`` so these replace its own."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RagkitError, handle_ragkit_error)
    app.register_error_handler(RedisError, handle_redis_error)
    for outage in DATABASE_OUTAGES:
        app.register_error_handler(outage, handle_database_outage)
    app.register_error_handler(Exception, handle_unexpected)
