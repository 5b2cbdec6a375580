"""The hotline's work orders (12345) and the residents' call-backs (回访)."""
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core import clock
from service.core.db import db

SIGN_OUTCOMES = ("accepted", "returned")
ANSWERS = ("satisfied", "basic", "unsatisfied")  # 满意 / 基本满意 / 不满意
ASKED_BY = ("tracking", "sms")


class HotlineOrder(db.Model):
    """A hotline work order taken in as a report (source `hotline`): its number at the hotline, its deadlines,
    and the hotline cycle's steps here: sign-for or return (签收/退回), the reply (答复) and the call-back (回访).

    reply_due_at and sign_due_at come from the order when the hotline states them, else from the hotline body's
    hours; return_due_at is the window in which a misrouted order may go back (HOTLINE_RETURN_HOURS).
    """

    __tablename__ = "hotline_order"
    __table_args__ = (
        CheckConstraint("sign_outcome IN ('accepted', 'returned')", name="sign_outcome"),
        CheckConstraint("(signed_at IS NULL) = (sign_outcome IS NULL)", name="signed"),
        Index("uq_hotline_order_number", "body_id", "order_no", unique=True),
        Index("ix_hotline_order_body_received", "body_id", "received_at"),
        Index("ix_hotline_order_received", "received_at"),
        # The sign-for deadlines still to watch (signing.escalate).
        Index("ix_hotline_order_unsigned_due", "sign_due_at",
              postgresql_where=text("signed_at IS NULL AND sign_escalated_at IS NULL")),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("report.id", ondelete="CASCADE"),
                                                 primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"))
    order_no: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = clock.stamp()
    sign_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    return_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_outcome: Mapped[str | None] = mapped_column(String(8))
    sign_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the first answer sent back
    replies: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    callback_asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the SMS link went out

    body = relationship("Body")


class Callback(db.Model):
    """A resident's answer at call-back (回访): one per round, round 2 after a re-check (复核)."""

    __tablename__ = "hotline_callback"
    __table_args__ = (
        CheckConstraint("answer IN ('satisfied', 'basic', 'unsatisfied')", name="answer"),
        CheckConstraint("round IN (1, 2)", name="round"),
        CheckConstraint("answer <> 'unsatisfied' OR reason <> ''", name="reason"),
        Index("uq_hotline_callback_round", "report_id", "round", unique=True),
        Index("ix_hotline_callback_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                                 ForeignKey("hotline_order.report_id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = clock.stamp()
