"""Key sites (places the programme keeps watch over, each with its committee and town by the assignment query),
themed campaigns and inspection rounds."""
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from service.accounts import scope
from service.core import clock
from service.core.db import db
from service.core.models import User
from service.sites.kinds import RISK_CLASSES, SITE_KINDS


def _one_of(column: str, codes) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


class Site(db.Model):
    """A key site (a hospital, a complex, a small shop...) as a point or a polygon, WGS-84."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint(_one_of("kind", SITE_KINDS), name="kind"),
        CheckConstraint(_one_of("risk_class", RISK_CLASSES), name="risk_class"),
        CheckConstraint("GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name="geom_type"),
        # Linking a report: points within a distance, polygons that cover it, both found by this index.
        Index("ix_site_geog", text("(geom::geography)"), postgresql_using="gist"),
        Index("ix_site_committee_name", "committee_id", "name", "id"),
        Index("ix_site_town_name", "town_id", "name", "id"),
        Index("ix_site_name_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)  # stable id of the source registry
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    contact: Mapped[str | None] = mapped_column(Text)
    risk_class: Mapped[str] = mapped_column(String(8), default="medium", server_default="medium")
    created_at: Mapped[datetime] = clock.stamp()
    updated_at: Mapped[datetime] = clock.stamp(on_update=True)

    committee = relationship("Area", foreign_keys=[committee_id])
    town = relationship("Area", foreign_keys=[town_id])


class Campaign(db.Model):
    """A themed campaign (每月主题): a date range, its focus, the towns it targets and guidance for volunteers.

    It changes no report: its results are computed from the reports of its focus over its days.
    """

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates"),
        Index("ix_campaign_ends_on_starts_on", "ends_on", "starts_on"),
        Index("ix_campaign_starts_on_id", "starts_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)  # local calendar days, inclusive
    ends_on: Mapped[date] = mapped_column(Date)
    focus_categories: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    focus_site_kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    target_towns: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")  # codes; {} = all
    guidance: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = clock.stamp()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # ended early by an admin


class InspectionRound(db.Model):
    """A planned inspection round (巡查): a period in which each of its sites is to be inspected once."""

    __tablename__ = "inspection_round"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),
                      Index("ix_inspection_round_ends_on", "ends_on", "starts_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)  # local calendar days, inclusive
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = clock.stamp()


class Inspection(db.Model):
    """One site of a round, its inspector, the check-in on the spot and each checklist item's result."""

    __tablename__ = "inspection"
    __table_args__ = (
        UniqueConstraint("round_id", "site_id", name="uq_inspection_round_id"),
        Index("ix_inspection_inspector_id_finished_at", "inspector_id", "finished_at"),
        Index("ix_inspection_site_id_finished_at", "site_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("inspection_round.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checkin_location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    checkin_distance_m: Mapped[float | None] = mapped_column(Float)
    # item code -> {"result": "ok" | "hazard" | "na", "report_id": the report a hazard became}
    results: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round = relationship("InspectionRound")
    site = relationship("Site")


@scope.rule
def visible_sites(user: User | None) -> ColumnElement:
    """Return the condition on Site rows: staff by area as for reports; volunteers see no site registry."""
    return scope.by_area(user, Site.town_id, Site.committee_id, false)
