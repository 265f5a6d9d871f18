"""Database tables (SQLAlchemy 2, typed). Times are stored in UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class Trial(Base):
    """One recorded exercise on the rig, from start to stop (``ended_at`` is NULL while running)."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(primary_key=True)
    rig_id: Mapped[str] = mapped_column(String(64))
    exercise: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
