"""Swagger UI's files, served by the app itself so ``/api/docs`` works offline."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("api_docs_assets", __name__, url_prefix="/api/docs/assets")


@blp.route("/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
