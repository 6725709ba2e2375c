"""The app's one ``RagKit``: built on first use, or handed in (tests share theirs)."""

from __future__ import annotations

import threading

from flask import current_app

from ragkit import Database, RagKit, Settings

_building = threading.Lock()


def knowledge_base() -> RagKit:
    """The ``RagKit`` of the current app, on the app's database (built once, thread-safely)."""
    kit = current_app.extensions.get("ragkit")
    if kit is not None:
        return kit
    with _building:
        if "ragkit" not in current_app.extensions:
            current_app.extensions["ragkit"] = build(
                current_app.config["RAGKIT_SETTINGS"], current_app.config["DATABASE_URL"]
            )
    return current_app.extensions["ragkit"]


def build(settings: Settings, database_url: str) -> RagKit:
    """A ``RagKit`` on ``database_url``; the schema is the migrations' job (`flask db upgrade`)."""
    settings = settings.replace(database_url=database_url)
    return RagKit(settings, Database.from_settings(settings, migrate=False))
