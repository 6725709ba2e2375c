"""The app's one ``RagKit``: built on first use, or handed in (tests share theirs)."""

from __future__ import annotations

import threading

from flask import current_app

from ragkit import RagKit

_building = threading.Lock()


def knowledge_base() -> RagKit:
    """The ``RagKit`` of the current app, on the app's database (built once, thread-safely)."""
    kit = current_app.extensions.get("ragkit")
    if kit is not None:
        return kit
    with _building:
        if "ragkit" not in current_app.extensions:
            settings = current_app.config["RAGKIT_SETTINGS"]
            database_url = current_app.config["DATABASE_URL"]
            current_app.extensions["ragkit"] = RagKit.connect(
                settings.replace(database_url=database_url)
            )
    return current_app.extensions["ragkit"]
