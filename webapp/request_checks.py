"""Refuse input no endpoint can store or parse, before any view sees it.

* A NUL byte in the query string, a form field, an uploaded file's name or any string of a JSON
  body, or a lone UTF-16 surrogate (``"\\ud800"``) in a JSON string: PostgreSQL text cannot hold
  them, so they would fail deep inside a query. 400 instead.
* A JSON body nested deeper than the parser's recursion allows: 400 instead of a RecursionError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, request
from flask_smorest import abort

NUL = "\x00"


def storable(text: str) -> bool:
    """Whether PostgreSQL can store ``text``: no NUL, valid UTF-8 (no lone surrogates)."""
    if NUL in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def strings_in(value: Any) -> Iterator[str]:
    """Every string (keys included) in a parsed JSON document, walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def form_strings() -> Iterable[str]:
    """Names and values of the query string and form fields, and uploaded files' names."""
    yield from (text for pair in request.args.items(multi=True) for text in pair)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        yield from (text for pair in request.form.items(multi=True) for text in pair)
        yield from (upload.filename or "" for upload in request.files.values())


def json_body() -> Any:
    """The parsed JSON body (``None`` when there is none); 400 when nested too deeply."""
    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except RecursionError:
        abort(400, message="The JSON body is nested too deeply.")


def refuse_hostile_input() -> None:
    """``before_request``: 400 with the JSON error shape for unstorable text or runaway nesting."""
    located = (("query or form", form_strings()), ("JSON body", strings_in(json_body())))
    for location, texts in located:
        if not all(storable(text) for text in texts):
            abort(
                400,
                message=f"The {location} contains a NUL character or invalid Unicode, "
                "which text cannot hold.",
                errors={location: ["NUL characters and lone surrogates are not allowed."]},
            )


def init_app(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
