"""Initial schema: areas, users, reports, photos, report events and the assignment function.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The one assignment rule (migrations/sql/0001_assign_point.sql), used both for a single point and for bulk
# re-assignment:
# covered by one committee -> covers; by several (shared edge/vertex) -> lowest code, edge;
# by none -> nearest committee within max_m metres (geography distance), nearest.
# The degree pre-filter lets the GiST index find candidates; it is wider than max_m anywhere
# below 80 degrees of latitude, and the geography test then decides exactly.
SQL = Path(__file__).resolve().parents[1] / "sql"  # frozen statements, read by their revision only (README)


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "area",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("area.id", name="fk_area_parent_id_area")),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("code", "generation", name="uq_area_code_generation"),
        sa.CheckConstraint("level IN ('district', 'town', 'committee')", name="ck_area_level"),
        sa.CheckConstraint("kind IS NULL OR kind IN ('village', 'residential')", name="ck_area_kind"),
        sa.CheckConstraint("code ~ '^[0-9]{6}([0-9]{3}){0,2}$'", name="ck_area_code"),
    )
    op.create_index("idx_area_geom", "area", ["geom"], postgresql_using="gist")
    op.create_index("ix_area_level_generation", "area", ["level", "generation"])
    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("phone", sa.String(20), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("area.id", name="fk_user_area_id_area")),
        sa.Column("password_hash", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "role IN ('volunteer', 'committee_staff', 'town_supervisor', 'district_admin')", name="ck_user_role"
        ),
    )
    _create_report()
    _create_photo_and_event()
    op.execute((SQL / "0001_assign_point.sql").read_text(encoding="utf-8"))


def _create_report() -> None:
    op.create_table(
        "report",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("reporter_id", sa.Integer, sa.ForeignKey("user.id", name="fk_report_reporter_id_user")),
        sa.Column("client_report_id", sa.String(64)),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("subcategory", sa.String(32)),
        sa.Column("risk_level", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("submitted_lon", sa.Float, nullable=False),
        sa.Column("submitted_lat", sa.Float, nullable=False),
        sa.Column("submitted_crs", sa.String(8), nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("location_source", sa.String(8), nullable=False),
        _ts("taken_at"),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        _ts("updated_at", server_default=sa.func.now(), nullable=False),
        sa.Column("committee_id", sa.Integer, sa.ForeignKey("area.id", name="fk_report_committee_id_area"),
                  nullable=False),
        sa.Column("town_id", sa.Integer, sa.ForeignKey("area.id", name="fk_report_town_id_area"), nullable=False),
        sa.Column("assignment_method", sa.String(8), nullable=False),
        sa.Column("assignment_distance_m", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("due_at"),
        sa.Column("duplicate_of", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("report.id", name="fk_report_duplicate_of_report")),
        sa.CheckConstraint("location_source IN ('device', 'exif', 'map')", name="ck_report_location_source"),
        sa.CheckConstraint("submitted_crs IN ('wgs84', 'gcj02', 'bd09')", name="ck_report_submitted_crs"),
        sa.CheckConstraint("assignment_method IN ('covers', 'edge', 'nearest', 'manual')",
                           name="ck_report_assignment_method"),
    )
    op.create_index("idx_report_location", "report", ["location"], postgresql_using="gist")
    # Idempotency key: unique per reporter, anonymous reporters (NULL) sharing one namespace.
    op.execute(
        "CREATE UNIQUE INDEX uq_report_client_id ON report (coalesce(reporter_id, 0), client_report_id)"
        " WHERE client_report_id IS NOT NULL"
    )
    op.create_index("ix_report_status", "report", ["status"])
    op.create_index("ix_report_status_created", "report", ["status", "created_at"])
    op.create_index("ix_report_committee_status", "report", ["committee_id", "status"])


def _create_photo_and_event() -> None:
    op.create_table(
        "photo",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("report.id", ondelete="CASCADE", name="fk_photo_report_id_report"), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("original_key", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("thumb_key", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('before', 'after')", name="ck_photo_role"),
    )
    op.create_index("ix_photo_report_id", "photo", ["report_id"])
    op.create_index("ix_photo_sha256", "photo", ["sha256"])
    op.create_table(
        "report_event",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("report_id", postgresql.UUID(as_uuid=True),
                  sa.ForeignKey("report.id", ondelete="CASCADE", name="fk_report_event_report_id_report"),
                  nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("user.id", name="fk_report_event_actor_id_user")),
        sa.Column("actor_label", sa.Text),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_report_event_report_id", "report_event", ["report_id"])


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS assign_point(geometry, double precision)")
    op.drop_table("report_event")
    op.drop_table("photo")
    op.drop_table("report")
    op.drop_table("user")
    op.drop_table("area")
