"""The accounts' own table: one row per sign-in, so a session can end on the server."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.core import clock
from service.core.db import db


class UserSession(db.Model):
    """A signed-in browser: its key (SHA-256 only), when it began, when it was last used, when it ended."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = clock.stamp()
    last_seen_at: Mapped[datetime] = clock.stamp()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
