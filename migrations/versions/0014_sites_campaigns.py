"""Key sites, campaigns, inspection rounds and the recurrence of verified hazards (issue 9): site, campaign,
inspection_round, inspection, report.site_id and report.recurrence_of.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# As in service/sites/kinds.py at the time of writing (a later change of the lists is a new revision).
SITE_KINDS = ("large_complex", "hospital", "school", "elderly_care", "high_rise", "old_estate", "rural_self_built",
              "small_shop", "small_restaurant", "small_hotel", "small_entertainment", "small_internet_cafe",
              "small_beauty_bath", "small_school", "small_clinic", "small_workshop")


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
        sa.Column("committee_id", sa.Integer, sa.ForeignKey("area.id", name="fk_site_committee_id_area"),
                  nullable=False),
        sa.Column("town_id", sa.Integer, sa.ForeignKey("area.id", name="fk_site_town_id_area"), nullable=False),
        sa.Column("contact", sa.Text),
        sa.Column("risk_class", sa.String(8), nullable=False, server_default="medium"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("external_id", name="uq_site_external_id"),
        sa.CheckConstraint(f"kind IN ({', '.join(repr(k) for k in SITE_KINDS)})", name="ck_site_kind"),
        sa.CheckConstraint("risk_class IN ('low', 'medium', 'high')", name="ck_site_risk_class"),
        sa.CheckConstraint("GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')", name="ck_site_geom_type"),
    )
    op.execute("CREATE INDEX ix_site_geog ON site USING gist ((geom::geography))")
    op.create_index("ix_site_committee_name", "site", ["committee_id", "name", "id"])
    op.create_index("ix_site_town_name", "site", ["town_id", "name", "id"])
    op.create_index("ix_site_name_id", "site", ["name", "id"])

    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("focus_categories", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("focus_site_kinds", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("target_towns", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("guidance", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("user.id", name="fk_campaign_created_by_user")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_campaign_dates"),
    )
    op.create_index("ix_campaign_ends_on_starts_on", "campaign", ["ends_on", "starts_on"])
    op.create_index("ix_campaign_starts_on_id", "campaign", ["starts_on", "id"])

    op.create_table(
        "inspection_round",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("user.id", name="fk_inspection_round_created_by_user"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_inspection_round_dates"),
    )
    op.create_index("ix_inspection_round_ends_on", "inspection_round", ["ends_on", "starts_on"])
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("inspection_round.id",
                                                        name="fk_inspection_round_id_inspection_round"),
                  nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id", name="fk_inspection_site_id_site"), nullable=False),
        sa.Column("inspector_id", sa.Integer, sa.ForeignKey("user.id", name="fk_inspection_inspector_id_user"),
                  nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True)),
        sa.Column("checkin_location", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("checkin_distance_m", sa.Float),
        sa.Column("results", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("round_id", "site_id", name="uq_inspection_round_id"),
    )
    op.create_index("ix_inspection_inspector_id_finished_at", "inspection", ["inspector_id", "finished_at"])
    op.create_index("ix_inspection_site_id_finished_at", "inspection", ["site_id", "finished_at"])

    op.add_column("report", sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id", name="fk_report_site_id_site")))
    op.create_index("ix_report_site_created", "report", ["site_id", "created_at", "id"],
                    postgresql_where=sa.text("site_id IS NOT NULL"))
    op.add_column("report", sa.Column("recurrence_of", postgresql.UUID(as_uuid=True),
                                      sa.ForeignKey("report.id", name="fk_report_recurrence_of_report")))
    op.create_index("ix_report_recurrence_of", "report", ["recurrence_of"],
                    postgresql_where=sa.text("recurrence_of IS NOT NULL"))
    # A verified report changes no more, so updated_at is when it was verified: the period of the figures.
    op.create_index("ix_report_verified_updated", "report", ["updated_at"],
                    postgresql_where=sa.text("status = 'verified'"))


def downgrade() -> None:
    op.drop_index("ix_report_verified_updated", table_name="report")
    op.drop_index("ix_report_recurrence_of", table_name="report")
    op.drop_column("report", "recurrence_of")
    op.drop_index("ix_report_site_created", table_name="report")
    op.drop_column("report", "site_id")
    op.drop_table("inspection")
    op.drop_table("inspection_round")
    op.drop_table("campaign")
    op.drop_table("site")
