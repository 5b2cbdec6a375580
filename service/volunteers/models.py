"""The volunteer registry beside the user, and the append-only service-hour ledger with its approvals."""
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db


class Volunteer(db.Model):
    """A volunteer's profile beside their user account (role volunteer), as kept in the programme's roster."""

    __tablename__ = "volunteer"
    __table_args__ = (
        CheckConstraint("committee_code ~ '^[0-9]{12}$'", name="committee_code"),
        Index("ix_volunteer_committee_code_user_id", "committee_code", "user_id"),
        Index("ix_volunteer_skills", "skills", postgresql_using="gin"),
        Index("ix_volunteer_tags", "tags", postgresql_using="gin"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    real_name: Mapped[str] = mapped_column(Text)
    # By code, not area id: a new boundary generation gives the same committee a new row.
    committee_code: Mapped[str] = mapped_column(String(12))
    team: Mapped[str | None] = mapped_column(Text, index=True)
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    availability: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = clock.stamp()
    updated_at: Mapped[datetime] = clock.stamp(on_update=True)

    user = relationship("User")


class ServiceHourEntry(db.Model):
    """One line of the service-hour ledger; rows are only ever appended (a correction is a new entry)."""

    __tablename__ = "service_hour_entry"
    __table_args__ = (
        CheckConstraint("source IN ('manual', 'report', 'task')", name="source"),
        CheckConstraint("hours >= 0 AND hours <= 24", name="hours"),
        CheckConstraint("(started_at IS NULL) = (ended_at IS NULL) AND (ended_at IS NULL OR ended_at > started_at)",
                        name="span"),
        Index("ix_service_hour_entry_volunteer_id_service_date", "volunteer_id", "service_date"),
        Index("ix_service_hour_entry_service_date_id", "service_date", "id"),  # hour exports by period, in order
        Index("uq_service_hour_entry_report_id", "report_id", unique=True,
              postgresql_where=text("report_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    source: Mapped[str] = mapped_column(String(16))
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    service_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("service_hour_entry.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = clock.stamp()


class ServiceHourDecision(db.Model):
    """Committee staff's or the town's approval or refusal of one ledger entry; decided once, never edited."""

    __tablename__ = "service_hour_decision"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("service_hour_entry.id"), unique=True)
    approved: Mapped[bool] = mapped_column()
    decided_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    decided_at: Mapped[datetime] = clock.stamp()
