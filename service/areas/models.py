"""The boundaries' own tables: each import's generation, and the pieces of the map it changed."""
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core import clock
from service.core.db import db


class BoundaryGeneration(db.Model):
    """One import of a level's boundaries: when it came into force and which towns it replaced."""

    __tablename__ = "boundary_generation"
    __table_args__ = (CheckConstraint("level IN ('district', 'town', 'committee')", name="level"),)

    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    towns: Mapped[list[str] | None] = mapped_column(ARRAY(String(12)))  # NULL: the whole level
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = clock.stamp()
    reassigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BoundaryChange(db.Model):
    """A small piece (ST_Subdivide) of the region where a code's old and new geometries differ."""

    __tablename__ = "boundary_change"
    __table_args__ = (
        ForeignKeyConstraint(["level", "generation"], ["boundary_generation.level", "boundary_generation.number"],
                             ondelete="CASCADE"),
        Index("ix_boundary_change_level_generation", "level", "generation"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(12))
    geom = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=True), nullable=False)



class AreaCell(db.Model):
    """A committee row cut by the grid of migration 0019: its part in one cell (geom NULL: the whole cell).

    Kept by the trigger area_cell_sync; nothing else writes it. assign_point finds a point's committee here,
    and bulk re-assignment hash-joins reports to it.
    """

    __tablename__ = "area_cell"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), index=True)
    generation_low: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(Integer)
    cx: Mapped[int] = mapped_column(Integer)
    cy: Mapped[int] = mapped_column(Integer)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))

    __table_args__ = (Index("ix_area_cell_cx_cy", "cx", "cy"),)
