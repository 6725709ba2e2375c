"""Abuse limits of the public widget API, counted in Redis by flask-limiter.

Each limit reads its rate from the app's configuration at request time, so tests and
deployments set them with ``PUBLIC_RATE_LIMIT_VISITOR``, ``PUBLIC_RATE_LIMIT_WIDGET`` and
``PUBLIC_CONVERSATIONS_PER_IP`` (``"20 per minute"``, ``"5/second;100/hour"``...).
"""

from __future__ import annotations

from flask import g, request
from flask_limiter.util import get_remote_address

from webapp.auth.limits import configured
from webapp.extensions import limiter


def path_value(name: str) -> str:
    return str((request.view_args or {})[name])


def visitor_key() -> str:
    """A visitor is their conversation (its id is in the path of every visitor route)."""
    return f"conversation:{path_value('conversation_id')}"


def widget_key() -> str:
    """The widget (found before the view runs), so rotating its key does not reset its count."""
    return f"widget:{g.public_widget.id}"


def address_key() -> str:
    return f"{widget_key()}:address:{get_remote_address()}"


per_visitor = limiter.shared_limit(
    configured("PUBLIC_RATE_LIMIT_VISITOR"),
    scope="public-visitor",
    key_func=visitor_key,
    error_message="Too many requests in this conversation: wait a moment and try again.",
)
per_widget = limiter.shared_limit(
    configured("PUBLIC_RATE_LIMIT_WIDGET"),
    scope="public-widget",
    key_func=widget_key,
    error_message="This widget is receiving too many requests: try again shortly.",
)
conversations_per_address = limiter.shared_limit(
    configured("PUBLIC_CONVERSATIONS_PER_IP"),
    scope="public-conversations",
    key_func=address_key,
    error_message="Too many conversations started from your network: try again later.",
)
