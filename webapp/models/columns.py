"""Column definitions several tables share."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, func
from sqlalchemy.orm import Mapped, mapped_column


def creation_time() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def update_time() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
