"""The receipts' tables: a report's private tracking link and the reporter's rating."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.core import clock
from service.core.db import db


class ReportReceipt(db.Model):
    """The receipt of a report sent without an account: its number, its tracking link (stored as SHA-256 only),
    where updates go, and whether the link was revoked."""

    __tablename__ = "report_receipt"
    __table_args__ = (
        CheckConstraint("notify_channel IN ('email', 'sms')", name="notify_channel"),
        CheckConstraint("(notify_channel IS NULL) = (notify_target IS NULL)", name="notify_target"),
        Index("ix_report_receipt_notify", "report_id", postgresql_where=text("notify_target IS NOT NULL")),  # 0030
    )

    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id", ondelete="CASCADE"),
                                                 primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notify_channel: Mapped[str | None] = mapped_column(String(8))
    notify_target: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = clock.stamp()
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
    created_at: Mapped[datetime] = clock.stamp()



class ContactCode(db.Model):
    """A one-time code sent to a contact a resident left, before anything else goes there (its HMAC only)."""

    __tablename__ = "contact_code"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel"),
        # The limits per report, per address and per day (service/receipts/verification.py) count these.
        Index("ix_contact_code_report", "report_id", "created_at"),
        Index("ix_contact_code_target", "target", "created_at"),
        Index("ix_contact_code_kept", "report_id", postgresql_where=text("target <> ''")),  # 0030
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("report_receipt.report_id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = clock.stamp(index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tries: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VerifiedContact(db.Model):
    """An address whose code came back once: later reports send it updates without asking again. Kept as a
    keyed digest (HMAC with the SECRET_KEY), so the table alone names no one."""

    __tablename__ = "verified_contact"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    verified_at: Mapped[datetime] = clock.stamp()
