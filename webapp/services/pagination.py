"""One page of a query's results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


def paginate(
    query: sa.Select,
    page: int,
    per_page: int,
    item: Callable[[Any], Any] = lambda row: row[0],
) -> Page:
    """Run ``query`` (already ordered) for one page; ``item`` turns a result row into an item."""
    total = db.session.execute(db.select(sa.func.count()).select_from(query.subquery())).scalar()
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([item(row) for row in rows], total or 0, page, per_page)
