"""Widget configurations of an organization."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort

from webapp.extensions import db
from webapp.models import User, WidgetConfiguration, new_public_key


def list_widgets(user: User) -> list[WidgetConfiguration]:
    return list(
        db.session.execute(
            db.select(WidgetConfiguration)
            .where(WidgetConfiguration.organization_id == user.organization_id)
            .order_by(WidgetConfiguration.created_at, WidgetConfiguration.id)
        ).scalars()
    )


def find(user: User, widget_id: uuid.UUID) -> WidgetConfiguration:
    widget = db.session.execute(
        db.select(WidgetConfiguration).where(
            WidgetConfiguration.id == widget_id,
            WidgetConfiguration.organization_id == user.organization_id,
        )
    ).scalar_one_or_none()
    if widget is None:
        abort(404, message=f"No widget {widget_id}.")
    return widget


def create(user: User, fields: dict[str, Any]) -> WidgetConfiguration:
    widget = WidgetConfiguration(organization_id=user.organization_id, owner_id=user.id, **fields)
    db.session.add(widget)
    db.session.commit()
    return widget


def update(widget: WidgetConfiguration, changes: dict[str, Any]) -> WidgetConfiguration:
    for name, value in changes.items():
        setattr(widget, name, value)
    db.session.commit()
    return widget


def rotate_key(widget: WidgetConfiguration) -> WidgetConfiguration:
    """A new public key; pages embedding the old one stop working."""
    widget.public_key = new_public_key()
    db.session.commit()
    return widget


def delete(widget: WidgetConfiguration) -> None:
    db.session.delete(widget)
    db.session.commit()
