"""Star levels by approved cumulative service hours (★ 100 h ... ★★★★★ 1500 h, VOLUNTEER_STAR_HOURS)."""
from decimal import Decimal

from flask import current_app
from sqlalchemy import ColumnElement, case, literal, select

from service.core.db import db
from service.volunteers import queries


def thresholds() -> tuple[Decimal, ...]:
    """The configured star thresholds in hours, lowest first."""
    return tuple(sorted(Decimal(str(h)) for h in current_app.config["VOLUNTEER_STAR_HOURS"]))


def level(hours: ColumnElement) -> ColumnElement:
    """The star level of an hours column, as a SQL expression (0 below the first threshold)."""
    steps = thresholds()
    whens = [(hours >= literal(t), n) for n, t in reversed(list(enumerate(steps, start=1)))]
    return case(*whens, else_=0) if whens else literal(0)


def summaries(volunteer_ids) -> dict[int, dict]:
    """Approved and pending hours, stars and progress to the next star for each volunteer, from SQL."""
    sums = queries.totals(volunteer_ids).subquery()
    rows = db.session.execute(select(sums.c.volunteer_id, sums.c.approved, sums.c.pending,
                                     level(sums.c.approved).label("stars")))
    found = {r.volunteer_id: _summary(r.approved, r.pending, r.stars) for r in rows}
    return {vid: found.get(vid) or _summary(Decimal(0), Decimal(0), 0) for vid in _ids(volunteer_ids)}


def _ids(volunteer_ids) -> list[int]:
    return list(volunteer_ids) if isinstance(volunteer_ids, list | tuple | set) else []


def _summary(approved: Decimal, pending: Decimal, stars: int) -> dict:
    steps = thresholds()
    following = steps[stars] if stars < len(steps) else None
    base = steps[stars - 1] if stars else Decimal(0)
    progress = 1.0 if following is None else float((approved - base) / (following - base))
    return {
        "approved_hours": float(approved), "pending_hours": float(pending), "stars": stars,
        "next_star_hours": float(following) if following is not None else None,
        "hours_to_next_star": float(following - approved) if following is not None else None,
        "progress_to_next_star": round(progress, 4),
    }
