"""三单 service orders (issue 8): the order, its append-only history, volunteers' offers, outcome photos.

Also: notifications may be caused by an order's event instead of a report's (exactly one of the two).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = "'building_talk', 'combustibles', 'extinguisher', 'home_check', 'other'"
STATUSES = "'accepted', 'cancelled', 'completed', 'dispatched', 'in_service', 'submitted'"
STATES = "'accepted', 'checked_in', 'checked_out', 'declined', 'expired', 'offered', 'withdrawn'"
BUSY = "'accepted', 'checked_in'"


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def _fk(column: str, table: str, target: str, **kw) -> sa.Column:
    kind = sa.Integer if target in ("user", "area") else sa.BigInteger
    return sa.Column(column, kind, sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}"), **kw)


def upgrade() -> None:
    _create_order()
    op.create_table(
        "service_order_event",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _fk("order_id", "service_order_event", "service_order", nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        _fk("actor_id", "service_order_event", "user"),
        sa.Column("actor_label", sa.Text),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("data", postgresql.JSONB, nullable=False, server_default="{}"),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_service_order_event_order_id", "service_order_event", ["order_id"])
    # The ledger's trigger function (0006) names the table it refuses: history is append-only here too.
    op.execute("CREATE TRIGGER service_order_event_append_only BEFORE UPDATE OR DELETE ON service_order_event"
               " FOR EACH ROW EXECUTE FUNCTION ledger_append_only()")
    op.execute("CREATE TRIGGER service_order_event_no_truncate BEFORE TRUNCATE ON service_order_event"
               " FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()")
    _create_assignment()
    _create_photo()
    op.alter_column("notification", "event_id", nullable=True)
    op.add_column("notification", _fk("order_event_id", "notification", "service_order_event"))
    op.create_check_constraint(op.f("ck_notification_source"), "notification",
                               "(event_id IS NULL) <> (order_event_id IS NULL)")


def _create_order() -> None:
    op.create_table(
        "service_order",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("address", sa.Text),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("submitted_lon", sa.Float, nullable=False),
        sa.Column("submitted_lat", sa.Float, nullable=False),
        sa.Column("submitted_crs", sa.String(8), nullable=False),
        sa.Column("location_source", sa.String(8), nullable=False),
        _fk("committee_id", "service_order", "area", nullable=False),
        _fk("town_id", "service_order", "area", nullable=False),
        sa.Column("assignment_method", sa.String(8), nullable=False),
        sa.Column("assignment_distance_m", sa.Float, nullable=False),
        _ts("window_start", nullable=False),
        _ts("window_end", nullable=False),
        sa.Column("contact_name", sa.Text),
        sa.Column("contact_phone", sa.String(20), nullable=False),
        sa.Column("volunteers_needed", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tracking_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("requester_ip", sa.String(64)),
        sa.Column("outcome", sa.Text),
        sa.Column("rating", sa.SmallInteger),
        sa.Column("rating_comment", sa.Text),
        _ts("rated_at"),
        _ts("completed_at"),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
        _ts("updated_at", server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_service_order_kind"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_service_order_status"),
        sa.CheckConstraint("submitted_crs IN ('wgs84', 'gcj02', 'bd09')", name="ck_service_order_submitted_crs"),
        sa.CheckConstraint("location_source IN ('device', 'map')", name="ck_service_order_location_source"),
        sa.CheckConstraint("assignment_method IN ('covers', 'edge', 'nearest', 'manual')",
                           name="ck_service_order_assignment_method"),
        sa.CheckConstraint("window_end > window_start", name="ck_service_order_window"),
        sa.CheckConstraint("volunteers_needed BETWEEN 1 AND 10", name="ck_service_order_volunteers_needed"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_service_order_rating"),
    )
    op.create_index("idx_service_order_location", "service_order", ["location"], postgresql_using="gist")
    op.create_index("ix_service_order_status_created", "service_order", ["status", "created_at", "id"])
    op.create_index("ix_service_order_town_status_created", "service_order",
                    ["town_id", "status", "created_at", "id"])
    op.create_index("ix_service_order_committee_status_created", "service_order",
                    ["committee_id", "status", "created_at", "id"])


def _create_assignment() -> None:
    op.create_table(
        "service_assignment",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _fk("order_id", "service_assignment", "service_order", nullable=False),
        _fk("volunteer_id", "service_assignment", "user", nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _fk("offered_by", "service_assignment", "user"),
        _ts("offered_at", server_default=sa.func.now(), nullable=False),
        _ts("responded_at"),
        _ts("checked_in_at"),
        sa.Column("checked_in_location", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("checked_in_distance_m", sa.Float),
        _ts("checked_out_at"),
        sa.Column("checked_out_location", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("checked_out_distance_m", sa.Float),
        _fk("hour_entry_id", "service_assignment", "service_hour_entry"),
        sa.UniqueConstraint("order_id", "volunteer_id", name="uq_service_assignment_order_id_volunteer_id"),
        sa.CheckConstraint(f"state IN ({STATES})", name="ck_service_assignment_state"),
        sa.CheckConstraint("checked_out_at IS NULL OR checked_out_at > checked_in_at",
                           name="ck_service_assignment_span"),
    )
    op.create_index("ix_service_assignment_volunteer_state", "service_assignment", ["volunteer_id", "state"])
    op.create_index("ix_service_assignment_busy", "service_assignment", ["volunteer_id", "order_id"],
                    postgresql_where=sa.text(f"state IN ({BUSY})"))
    op.create_index("ix_service_assignment_offered_at", "service_assignment", ["offered_at"],
                    postgresql_where=sa.text("state = 'offered'"))


def _create_photo() -> None:
    op.create_table(
        "service_order_photo",
        sa.Column("id", sa.BigInteger, primary_key=True),
        _fk("order_id", "service_order_photo", "service_order", nullable=False),
        _fk("event_id", "service_order_photo", "service_order_event", nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("original_key", sa.Text, nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("thumb_key", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        _ts("created_at", server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_service_order_photo_order_id", "service_order_photo", ["order_id"])
    op.create_index("ix_service_order_photo_sha256", "service_order_photo", ["sha256"])


def downgrade() -> None:
    op.drop_constraint(op.f("ck_notification_source"), "notification")
    op.execute("DELETE FROM notification_attempt WHERE notification_id IN"
               " (SELECT id FROM notification WHERE order_event_id IS NOT NULL)")
    op.execute("DELETE FROM notification WHERE order_event_id IS NOT NULL")
    op.drop_column("notification", "order_event_id")
    op.alter_column("notification", "event_id", nullable=False)
    op.drop_table("service_order_photo")
    op.drop_table("service_assignment")
    op.execute("DROP TRIGGER service_order_event_no_truncate ON service_order_event")
    op.execute("DROP TRIGGER service_order_event_append_only ON service_order_event")
    op.drop_table("service_order_event")
    op.drop_table("service_order")
