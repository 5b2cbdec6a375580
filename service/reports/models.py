"""The reports area's own table: requests that a photo be checked for what it should not show (issue 25)."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db

OUTCOMES = ("redacted", "no_change")


class RedactionRequest(db.Model):
    """Someone who may see a photo (a resident by receipt, a volunteer, staff) asked that it be checked (请求遮挡).

    Open until staff cover a region of it (`redacted`) or decide that nothing needs hiding (`no_change`); one open
    request per photo (the partial unique index), so asking again is no flood. The town's queue reads the open ones
    through a partial index of the few rows that are, joined to their report for scope."""

    __tablename__ = "redaction_request"
    __table_args__ = (
        CheckConstraint("outcome IN ('redacted', 'no_change')", name="outcome"),
        CheckConstraint("(closed_at IS NULL) = (outcome IS NULL)", name="closed"),
        Index("uq_redaction_request_open", "photo_id", unique=True, postgresql_where=text("closed_at IS NULL")),
        Index("ix_redaction_request_queue", "created_at", "id", postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id", ondelete="CASCADE"),
                                                 index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None: the resident, by receipt
    created_at: Mapped[datetime] = clock.stamp()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    outcome: Mapped[str | None] = mapped_column(String(12))

    report = relationship("Report")
    photo = relationship("Photo")
