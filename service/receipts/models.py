"""The receipts' tables: a report's private tracking link and the reporter's rating."""
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import db


class ReportReceipt(db.Model):
    """The receipt of a report sent without an account: its number, its tracking link (stored as SHA-256 only),
    where updates go, and whether the link was revoked."""

    __tablename__ = "report_receipt"
    __table_args__ = (
        CheckConstraint("notify_channel IN ('email', 'sms')", name="notify_channel"),
        CheckConstraint("(notify_channel IS NULL) = (notify_target IS NULL)", name="notify_target"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id", ondelete="CASCADE"),
                                                 primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notify_channel: Mapped[str | None] = mapped_column(String(8))
    notify_target: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReportRating(db.Model):
    """The reporter's rating of how a verified report was handled; one per report, never changed."""

    __tablename__ = "report_rating"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id", ondelete="CASCADE"),
                                                 primary_key=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None: the resident, by receipt
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

