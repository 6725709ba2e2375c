"""Reading the console's query strings and form fields: bad values fall back or give a 4xx."""

from __future__ import annotations

import uuid
from datetime import date

from flask import abort, request

PER_PAGE = 25


def page_number() -> int:
    """``?page=N`` (1 when missing or not a positive number)."""
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


# Dates the pages can step a year back or a day forward from without leaving ``date``'s range.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9000, 12, 31)


def day(name: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter; an unreadable or out-of-range one counts as not given."""
    try:
        value = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return value if EARLIEST_DAY <= value <= LATEST_DAY else None


def form_uuid(name: str) -> uuid.UUID | None:
    """A form field holding an id, or None when empty; 422 when it is not an id."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        abort(422, f"{name} is not a valid id.")


def text(name: str, limit: int = 200) -> str:
    return request.args.get(name, "").strip()[:limit]
