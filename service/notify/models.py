"""The outbox's tables: where each area's notifications go, what is due, and every delivery attempt."""
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db


class AreaContact(db.Model):
    """Where a town's or committee's notifications go: a chat-robot webhook or an e-mail address."""

    __tablename__ = "area_contact"
    __table_args__ = (
        CheckConstraint("channel IN ('webhook', 'email')", name="channel"),
        UniqueConstraint("area_id", "channel", "target", name="uq_area_contact_area_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(Text)


class Notification(db.Model):
    """A message in the outbox, written in the same transaction as the event that caused it."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent')", name="status"),
        Index("ix_notification_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # Caused by exactly one thing: a report's event, a service order's (service/orders), or a contact's
        # one-time code (service/receipts/verification.py).
        CheckConstraint("num_nonnulls(event_id, order_event_id, contact_code_id) = 1", name="source"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))
    order_event_id: Mapped[int | None] = mapped_column(ForeignKey("service_order_event.id"))
    contact_code_id: Mapped[int | None] = mapped_column(ForeignKey("contact_code.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = clock.stamp()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = clock.stamp()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    event = relationship("ReportEvent")


class NotificationAttempt(db.Model):
    """One delivery try of a notification, successful or not."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    attempted_at: Mapped[datetime] = clock.stamp()
    ok: Mapped[bool] = mapped_column()
    detail: Mapped[str] = mapped_column(Text)
