"""The console's blueprint: pages under ``/console``, its CSS and JS under ``/console/static``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

STATIC = Path(__file__).resolve().parent.parent / "static" / "console"

blp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    static_folder=str(STATIC),
    static_url_path="/static",
)
