"""The access log: one row per page, JSON answer or export that showed residents' contacts (append-only, 0035)."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.core import clock
from service.core.db import db

KINDS = ("detail", "export", "api")  # a page, a file, a JSON answer


class AccessRecord(db.Model):
    """Who saw residents' contacts, when, in which view, of what (one report, one order, or a list's filter) and
    how many. Never updated or deleted: a trigger refuses it and the app's role may only insert and read."""

    __tablename__ = "access_log"
    __table_args__ = (
        CheckConstraint("kind IN ({})".format(", ".join(f"'{k}'" for k in KINDS)), name="kind"),
        CheckConstraint("shown > 0", name="shown"),
        CheckConstraint("num_nonnulls(report_id, order_id, filter) = 1", name="what"),
        Index("ix_access_log_created", "created_at", "id"),
        Index("ix_access_log_user", "user_id", "created_at", "id"),
        Index("ix_access_log_report", "report_id", "created_at", "id", postgresql_where=text("report_id IS NOT NULL")),
        Index("ix_access_log_order", "order_id", "created_at", "id", postgresql_where=text("order_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = clock.stamp()
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    role: Mapped[str] = mapped_column(String(20))  # the role when they looked (a role may change later)
    kind: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"))
    filter: Mapped[dict | None] = mapped_column(JSONB(none_as_null=True))
    shown: Mapped[int] = mapped_column(Integer)
