"""The dashboard's cubes of report figures, kept exact by the report triggers (migration 0015)."""
from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import db


class Figures:
    """The columns every cube keeps per key: reports, rectified by / after due_at, and histograms of hours from
    report to rectified and to verified in the buckets of cube.EDGES (NULL when no report of the key has one)."""

    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    on_time: Mapped[int] = mapped_column(BigInteger, server_default="0")
    late: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rectify_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    verify_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class ReportStats(Figures, db.Model):
    """Per committee (and town row: migration 0020), status, category and risk."""

    __tablename__ = "report_stats"
    __table_args__ = (Index("ix_report_stats_town", "town_id"),)

    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)


class ReportStatsMonth(Figures, db.Model):
    """Per town, status, category, risk and local month of creation."""

    __tablename__ = "report_stats_month"
    # This and last month, and the trend from the index alone (0028).
    __table_args__ = (Index("ix_report_stats_month_month", "month", "status",
                            postgresql_include=["n", "on_time", "late"]),)

    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)


class ReportStatsTown(Figures, db.Model):
    """Per town, status, category and risk."""

    __tablename__ = "report_stats_town"

    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)


class ReportStatsRecurrence(db.Model):
    """Verified reports per committee (and town row), category, key site (0: none) and local month of verification:
    how many, how many recurred, how many were rectified in time and did not recur (migration 0027)."""

    __tablename__ = "report_stats_recurrence"
    __table_args__ = (Index("ix_report_stats_recurrence_month", "month", "town_id"),)

    committee_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    verified: Mapped[int] = mapped_column(BigInteger)
    recurred: Mapped[int] = mapped_column(BigInteger)
    on_time: Mapped[int] = mapped_column(BigInteger)
