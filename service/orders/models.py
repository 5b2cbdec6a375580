"""The service order, its append-only history, each volunteer's offer (assignment) and the outcome photos."""
from datetime import datetime, timedelta

from flask import current_app
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.core import clock
from service.core.db import db
from service.core.models import User
from service.orders.workflow import BUSY, CLOSED, COMING, KINDS, OFFER_LABELS, STATUS_LABELS, sql_list

SRID = 4326


class ServiceOrder(db.Model):
    """One service a resident or committee ordered at one place and time window (三单's 点单)."""

    __tablename__ = "service_order"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_list(KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({sql_list(STATUS_LABELS)})", name="status"),
        CheckConstraint("submitted_crs IN ('wgs84', 'gcj02', 'bd09')", name="submitted_crs"),
        CheckConstraint("location_source IN ('device', 'map')", name="location_source"),
        CheckConstraint("assignment_method IN ('covers', 'edge', 'nearest', 'manual')", name="assignment_method"),
        CheckConstraint("window_end > window_start", name="window"),
        CheckConstraint("volunteers_needed BETWEEN 1 AND 10", name="volunteers_needed"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        # The dispatcher's queues: by town or committee and status, oldest first (keyset on created_at, id).
        Index("ix_service_order_status_created", "status", "created_at", "id"),
        Index("ix_service_order_town_status_created", "town_id", "status", "created_at", "id"),
        Index("ix_service_order_committee_status_created", "committee_id", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    address: Mapped[str | None] = mapped_column(Text)
    location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    submitted_lon: Mapped[float] = mapped_column(Float)
    submitted_lat: Mapped[float] = mapped_column(Float)
    submitted_crs: Mapped[str] = mapped_column(String(8))
    location_source: Mapped[str] = mapped_column(String(8))
    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    assignment_method: Mapped[str] = mapped_column(String(8))
    assignment_distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str] = mapped_column(String(20))
    volunteers_needed: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # The tracking link's token, stored only as its SHA-256 (like API tokens).
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requester_ip: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = clock.stamp()
    updated_at: Mapped[datetime] = clock.stamp(on_update=True)

    committee = relationship("Area", foreign_keys=[committee_id])
    town = relationship("Area", foreign_keys=[town_id])
    assignments = relationship("ServiceAssignment", order_by="ServiceAssignment.id", back_populates="order")
    photos = relationship("ServiceOrderPhoto", order_by="ServiceOrderPhoto.id")


class ServiceOrderEvent(db.Model):
    """One step in an order's history; rows are only ever appended (by trigger and by privilege)."""

    __tablename__ = "service_order_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("service_order.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    data: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = clock.stamp()


class ServiceAssignment(db.Model):
    """One volunteer's offer of an order, from 派单 through 接单 to check-in and check-out."""

    __tablename__ = "service_assignment"
    __table_args__ = (
        UniqueConstraint("order_id", "volunteer_id", name="uq_service_assignment_order_id_volunteer_id"),
        CheckConstraint(f"state IN ({sql_list(OFFER_LABELS)})", name="state"),
        CheckConstraint("checked_out_at IS NULL OR checked_out_at > checked_in_at", name="span"),
        # A volunteer's tasks, and who is busy: the suggestion query's anti-join.
        Index("ix_service_assignment_volunteer_state", "volunteer_id", "state"),
        Index("ix_service_assignment_busy", "volunteer_id", "order_id",
              postgresql_where=text(f"state IN ({sql_list(BUSY)})")),
        # Escalation finds unanswered offers by age.
        Index("ix_service_assignment_offered_at", "offered_at", postgresql_where=text("state = 'offered'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("service_order.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    state: Mapped[str] = mapped_column(String(16), default="offered")
    offered_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    offered_at: Mapped[datetime] = clock.stamp()
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    checked_in_distance_m: Mapped[float | None] = mapped_column(Float)
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_out_location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    checked_out_distance_m: Mapped[float | None] = mapped_column(Float)
    hour_entry_id: Mapped[int | None] = mapped_column(ForeignKey("service_hour_entry.id"))

    order = relationship("ServiceOrder", back_populates="assignments")
    volunteer = relationship("User", foreign_keys=[volunteer_id])


class ServiceOrderPhoto(db.Model):
    """An outcome photo of an order, stored through the photo storage like a report's photos."""

    __tablename__ = "service_order_photo"
    __table_args__ = (
        Index("ix_service_order_photo_redaction_pending", "id", postgresql_where=text("redaction_pending")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("service_order.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("service_order_event.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_key: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    thumb_key: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    redaction_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # as Photo's
    created_at: Mapped[datetime] = clock.stamp()


@scope.rule
def visible_orders(user: User | None) -> ColumnElement:
    """Return the condition on ServiceOrder rows: staff by area as for reports, a volunteer the orders offered
    to them (in any state, so a late answer learns why it is refused); what the resident told is order_contact's."""
    return scope.by_area(user, ServiceOrder.town_id, ServiceOrder.committee_id, lambda: ServiceOrder.id.in_(
        select(ServiceAssignment.order_id).where(ServiceAssignment.volunteer_id == user.id)))


@scope.rule
def order_contact(user: User | None, now: datetime) -> ColumnElement:
    """Return the condition on ServiceOrder rows whose private part (the resident's name, phone, address, exact
    point, outcome photos) the user may read: staff by area; a volunteer only while they hold the order (accepted,
    on site, checked out) and it is under way or completed less than ORDER_CONTACT_GRACE_H ago. An open offer
    shows the kind, the window and the committee, enough to answer; a declined, expired or withdrawn offer and a
    cancelled order show nothing private."""
    grace = timedelta(hours=current_app.config["ORDER_CONTACT_GRACE_H"])
    return scope.by_area(user, ServiceOrder.town_id, ServiceOrder.committee_id, lambda: and_(
        ServiceOrder.id.in_(select(ServiceAssignment.order_id).where(
            ServiceAssignment.volunteer_id == user.id, ServiceAssignment.state.in_(COMING))),
        or_(ServiceOrder.status.not_in(CLOSED),
            and_(ServiceOrder.status == "completed", ServiceOrder.completed_at > now - grace))))
