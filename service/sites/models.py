"""Key sites: places the programme keeps watch over, each with its committee and town by the assignment query."""
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import db
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    committee = relationship("Area", foreign_keys=[committee_id])
    town = relationship("Area", foreign_keys=[town_id])
