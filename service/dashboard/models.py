"""The per-town monthly cube of report figures, kept exact by the report triggers (migration 0015)."""
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from service.db import db


class ReportStatsMonth(db.Model):
    """Reports per town, status, category, risk and local month of creation, with the dashboard's figures."""

    __tablename__ = "report_stats_month"

    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(20), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    on_time: Mapped[int] = mapped_column(BigInteger, server_default="0")
    late: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rectify_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    verify_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
