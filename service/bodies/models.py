"""The registry of bodies outside the programme: who they are, where and what they take, how to reach them."""
import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db
from service.core.models import SRID

KINDS = ("property", "utility", "department", "hotline")
CHANNELS = ("open311", "webhook", "email")
SYNC_VIA = ("updates", "requests")
OUTCOMES = ("finished", "returned", "recalled")
UPDATE_OUTCOMES = ("applied", "refused", "noted")


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Body(db.Model):
    """A body a report can be handed to (转派): its areas are committee or town codes, or its own outline.

    `credential` (an Open311 api_key) is written once, by `hazard-snap bodies add`, and read only to deliver: no
    page, list, log line or answer shows it (registry.describe()).
    """

    __tablename__ = "body"
    __table_args__ = (
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("cardinality(area_codes) > 0 OR outline IS NOT NULL", name="serves_somewhere"),
        CheckConstraint("cardinality(categories) > 0", name="takes_something"),
        CheckConstraint("sign_hours > 0 AND finish_hours >= sign_hours", name="deadlines"),
        CheckConstraint("channel <> 'open311' OR (credential IS NOT NULL AND jurisdiction_id IS NOT NULL)",
                        name="open311_key"),
        # The suggestion for a report (registry.matching): active bodies by area code, by category, by outline.
        CheckConstraint(_one_of("sync_via", SYNC_VIA), name="sync_via"),  # 0034
        CheckConstraint("jsonb_typeof(service_codes) = 'object'", name="service_codes_object"),
        Index("ix_body_area_codes", "area_codes", postgresql_using="gin", postgresql_where=text("active")),
        Index("ix_body_categories", "categories", postgresql_using="gin", postgresql_where=text("active")),
        Index("ix_body_outline", "outline", postgresql_using="gist", postgresql_where=text("active")),
        Index("uq_body_name", "name", unique=True),
        Index("uq_body_inbound_user", "inbound_user_id", unique=True,  # 0033
              postgresql_where=text("inbound_user_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(String(12)), server_default="{}")
    outline = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=False), nullable=True)
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    channel: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(Text)  # an Open311 base URL, a webhook URL or an e-mail address
    jurisdiction_id: Mapped[str | None] = mapped_column(Text)
    credential: Mapped[str | None] = mapped_column(Text)
    sign_hours: Mapped[int] = mapped_column(Integer)  # 签收 within this many hours of delivery
    finish_hours: Mapped[int] = mapped_column(Integer)  # finished within this many hours of delivery
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = clock.stamp()
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sync_cursor: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # updates read up to here
    # A hotline's own Open311 key (`hazard-snap hotline key`): its account creates and reads this body's orders only.
    inbound_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Our category -> the body's own Open311 service_code (0034); a category without one is sent as itself.
    service_codes: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    # Where `bodies sync` reads the body's answers: servicerequestupdates.json, or requests.json (0034).
    sync_via: Mapped[str] = mapped_column(String(8), server_default="updates")


class Transfer(db.Model):
    """One report handed to one body (转派): its delivery, the body's deadlines, and how it ended.

    A report has at most one open transfer (ended_at NULL); the deadlines run from delivery, not from the hand-over,
    so a channel that is down does not count against the body.
    """

    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("(ended_at IS NULL) = (outcome IS NULL)", name="ended"),
        Index("uq_transfer_open_report", "report_id", unique=True, postgresql_where=text("ended_at IS NULL")),
        Index("ix_transfer_report", "report_id", "id"),
        Index("ix_transfer_body_created", "body_id", "created_at"),
        Index("ix_transfer_running_due", "finish_due_at", "sign_due_at",  # bodies.deadlines.escalate
              postgresql_where=text("ended_at IS NULL AND escalated_at IS NULL AND delivered_at IS NOT NULL")),
        Index("ix_transfer_body_held", "body_id", "id",  # 0034: a requests.json sync's pages
              postgresql_where=text("ended_at IS NULL AND remote_id IS NOT NULL")),
        Index("uq_transfer_body_remote", "body_id", "remote_id", unique=True,
              postgresql_where=text("remote_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id"))
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("report_event.id"))  # the transfer's own event
    created_at: Mapped[datetime] = clock.stamp()
    remote_id: Mapped[str | None] = mapped_column(Text)  # the body's service_request_id
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finish_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # 签收
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a deadline missed, told
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(12))

    body = relationship("Body")


class BodyUpdate(db.Model):
    """An update a body sent back (`bodies sync`), kept once by its own id: applied, noted (a sign-for) or refused
    (a request the body does not hold for us, a move the table does not allow), with why."""

    __tablename__ = "body_update"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", UPDATE_OUTCOMES), name="outcome"),
        Index("uq_body_update_body_update_id", "body_id", "update_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    update_id: Mapped[str] = mapped_column(Text)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.id"))
    received_at: Mapped[datetime] = clock.stamp()
    outcome: Mapped[str] = mapped_column(String(8))
    detail: Mapped[str] = mapped_column(Text, server_default="")
