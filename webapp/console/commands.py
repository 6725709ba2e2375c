"""``flask ragkit group-gaps``: group every waiting knowledge-gap question now."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.models import Organization
from webapp.services import gaps


@click.command("group-gaps")
@click.option("--org", "organization_id", type=click.UUID, help="Only this organization (its id).")
@with_appcontext
def group_gaps_command(organization_id: uuid.UUID | None) -> None:
    """Embed and group the questions the console's knowledge gaps page has not grouped yet."""
    query = db.select(Organization).order_by(Organization.created_at)
    if organization_id is not None:
        query = query.where(Organization.id == organization_id)
    organizations = list(db.session.execute(query).scalars())
    if organization_id is not None and not organizations:
        raise click.UsageError(f"no organization {organization_id}")
    for organization in organizations:
        grouped = gaps.refresh(organization, limit=None)
        if grouped:
            click.echo(f"{organization.name}: grouped {grouped} questions")
