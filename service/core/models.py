"""Tables of the service: areas, reports, their photos and history, and users."""
import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db
from service.rules.roles import ROLES_SQL
from service.rules.workflow import CLOCK_RUNNING_SQL, CLOSED_SQL, OPEN_SQL, STATUSES_SQL

SRID = 4326  # everything inside the system is WGS-84


class Area(db.Model):
    """A district, town or committee boundary, in force from generation_low to generation of its level.

    An import that leaves a code's geometry unchanged raises `generation` of its row (MapIt's
    generation_high), so the rows in force are those at the level's newest generation and the row id a
    report or contact points at survives new generations.
    """

    __tablename__ = "area"
    __table_args__ = (
        # Not (code, generation): raising `generation` must stay a non-key update, or each import would wait
        # for, and then block, every report written meanwhile (its foreign key share-locks the area row).
        UniqueConstraint("code", "generation_low", name="uq_area_code_generation_low"),
        CheckConstraint("level IN ('district', 'town', 'committee')", name="level"),
        CheckConstraint("kind IS NULL OR kind IN ('village', 'residential')", name="kind"),
        CheckConstraint("code ~ '^[0-9]{6}([0-9]{3}){0,2}$'", name="code"),
        CheckConstraint("generation_low <= generation", name="generation_span"),
        Index("ix_area_level_generation", "level", "generation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    generation_low: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = clock.stamp()

    parent = relationship("Area", remote_side=[id])


class User(db.Model):
    """A person using the service, with a role scoped to an area."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(f"role IN ({ROLES_SQL})", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="volunteer")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    # Part of the session id: bumped on a password change or when disabled, which ends every session.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = clock.stamp()

    area = relationship("Area")

    # Flask-Login's user protocol
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class ApiToken(db.Model):
    """A bearer token of a user, stored only as its SHA-256."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = clock.stamp()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # updated at most once a minute
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An integration's Open311 api_key (hazard-snap apikeys create): not a key to the rest of the service.
    open311_only: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    user = relationship("User")


class LoginFailure(db.Model):
    """A failed login, kept to slow down password guessing (in the DB so every app node sees it)."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_phone_at", "phone", "at"),
        Index("ix_login_failure_remote_addr_at", "remote_addr", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = clock.stamp()


class UploadAttempt(db.Model):
    """An anonymous upload try, refused or not, kept for the per-address limit (in the DB so every node sees it)."""

    __tablename__ = "upload_attempt"
    __table_args__ = (Index("ix_upload_attempt_remote_addr_at", "remote_addr", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    remote_addr: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = clock.stamp()


class Report(db.Model):
    """One hazard seen by someone at one place."""

    __tablename__ = "report"
    __mapper_args__ = {"exclude_properties": ["local_day"]}
    __table_args__ = (
        Index("uq_report_client_id", text("coalesce(reporter_id, 0)"), "client_report_id",
              unique=True, postgresql_where=text("client_report_id IS NOT NULL")),
        CheckConstraint(f"status IN ({STATUSES_SQL})", name="status"),  # 0028
        CheckConstraint("location_source IN ('device', 'exif', 'map')", name="location_source"),
        CheckConstraint("submitted_crs IN ('wgs84', 'gcj02', 'bd09')", name="submitted_crs"),
        CheckConstraint("assignment_method IN ('covers', 'edge', 'nearest', 'manual')", name="assignment_method"),
        Index("ix_report_status_created", "status", "created_at"),
        Index("ix_report_committee_status", "committee_id", "status"),
        Index("ix_report_reporter_ip_created", "reporter_ip", "created_at"),
        Index("ix_report_due_at", "due_at"),
        Index("ix_report_created_id", "created_at", "id"),
        Index("ix_report_town_status_due", "town_id", "status", "due_at", "id"),  # a town's queues (0015)
        Index("ix_report_town_status_created", "town_id", "status", "created_at", "id"),
        Index("ix_report_town_created", "town_id", "created_at"),
        Index("ix_report_reporter_created", "reporter_id", "created_at"),
        Index("ix_report_assignee", "assignee_id"),
        Index("ix_report_category_created", "category", "created_at"),
        Index("ix_report_risk_created", "risk_level", "created_at"),
        # Covering: overdue counts per place (and month of creation) subtract the running reports not yet due,
        # index-only (migrations 0015, 0027).
        Index("ix_report_running_due", "due_at", "id", postgresql_where=text(f"status IN ({CLOCK_RUNNING_SQL})"),
              postgresql_include=["town_id", "committee_id", "status", "category", "risk_level", "created_at"]),
        Index("ix_report_status_due", "status", "due_at", "id"),  # a queue of one status, by deadline
        Index("ix_report_open_geog", text("(location::geography)"), postgresql_using="gist",
              postgresql_where=text(f"status IN ({OPEN_SQL})")),
        Index("ix_report_verified_geog", text("(location::geography)"), postgresql_using="gist",
              postgresql_where=text("status = 'verified'")),
        Index("ix_report_nearest_location", "location", postgresql_using="gist",
              postgresql_where=text("assignment_method = 'nearest'")),
        # Recurrence (service/sites): figures over verified reports by verification time, and their recurrences.
        Index("ix_report_verified_updated", "updated_at", postgresql_where=text("status = 'verified'")),
        Index("ix_report_recurrence_of", "recurrence_of", postgresql_where=text("recurrence_of IS NOT NULL")),
        Index("ix_report_site_created", "site_id", "created_at", "id", postgresql_where=text("site_id IS NOT NULL")),
        # created_at's calendar day in the district, written by the report_local_day trigger (0037) on every
        # insert; in the table, not in the mapper, so the code runs on the schema before 0037 as well (the
        # rolling upgrade's order, bench/soak.py) and no INSERT names it.
        Column("local_day", Date),
        Index("ix_report_town_local_day", "town_id", "local_day"),
        Index("ix_report_contact_closed", "updated_at",  # the contacts to erase (service/privacy, 0030)
              postgresql_where=text(f"contact IS NOT NULL AND status IN ({CLOSED_SQL})")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    client_report_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    risk_level: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(Text)
    location = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    submitted_lon: Mapped[float] = mapped_column(Float)
    submitted_lat: Mapped[float] = mapped_column(Float)
    submitted_crs: Mapped[str] = mapped_column(String(8))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(8))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = clock.stamp()
    updated_at: Mapped[datetime] = clock.stamp(on_update=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    assignment_method: Mapped[str] = mapped_column(String(8))
    assignment_distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    # The committee generation whose boundaries gave this assignment (NULL: assigned before generations).
    assigned_generation: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="submitted")  # indexed by (status, ...) below
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    duplicate_photo_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    # The report verified lately at this spot that this one repeats (service/sites/recurrence.py).
    recurrence_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report.id"))
    # Some report names this one in recurrence_of: kept by the report_recurred_* triggers (migration 0027).
    recurred: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))  # the key site it was seen at
    client_fingerprint: Mapped[str | None] = mapped_column(String(64))
    warnings: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    reporter_ip: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rectified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    committee = relationship("Area", foreign_keys=[committee_id])
    town = relationship("Area", foreign_keys=[town_id])
    photos = relationship("Photo", back_populates="report", order_by="Photo.id")
    reporter = relationship("User", foreign_keys=[reporter_id])
    events = relationship("ReportEvent", order_by="ReportEvent.id", back_populates="report")


class ReportRollup(db.Model):
    """Report counts per committee (and town row), status, category and risk, kept exact by triggers (0008, 0020)."""

    __tablename__ = "report_rollup"
    __table_args__ = (Index("ix_report_rollup_town", "town_id"),)

    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(20), primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)  # a town's old and new rows
    n: Mapped[int] = mapped_column(BigInteger)


class Photo(db.Model):
    """A stored photo of a report: the private original and its public derived copies."""

    __tablename__ = "photo"
    __table_args__ = (
        CheckConstraint("role IN ('before', 'after')", name="role"),
        CheckConstraint("(phone_original_sha256 IS NULL) = (phone_original_bytes IS NULL)"
                        " AND (phone_orientation IS NULL OR phone_orientation BETWEEN 1 AND 8)", name="phone_resize"),
        # The phash's 4 bands of 16 bits, one b-tree each: the indexed perceptual match (reports/duplicates.py).
        *(Index(f"ix_photo_phash_band{band}", text(f"((phash >> {shift}) & 65535)"))
          for band, shift in enumerate((48, 32, 16, 0))),
        Index("ix_photo_redaction_pending", "id", postgresql_where=text("redaction_pending")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="before")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    original_key: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    thumb_key: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    phash: Mapped[int | None] = mapped_column(BigInteger)
    # Set when the phone shrank the photo before upload (service/photos/phone.py): the stored
    # "original" is then that copy, and these name the phone's original file.
    phone_original_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_original_bytes: Mapped[int | None] = mapped_column(BigInteger)
    phone_orientation: Mapped[int | None] = mapped_column(SmallInteger)
    # Faces not yet blurred: the public copy and thumbnail are not written until `photos redact --pending` runs.
    redaction_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))
    created_at: Mapped[datetime] = clock.stamp()

    report = relationship("Report", back_populates="photos")
    event = relationship("ReportEvent", foreign_keys=[event_id], back_populates="photos")


class ReportEvent(db.Model):
    """One step in a report's history; rows are only ever appended."""

    __tablename__ = "report_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="transition", server_default="transition")
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = clock.stamp()

    actor = relationship("User")
    report = relationship("Report", back_populates="events")
    photos = relationship("Photo", order_by="Photo.id", foreign_keys="Photo.event_id", back_populates="event")
