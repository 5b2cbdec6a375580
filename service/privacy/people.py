"""A person's data: everything held about one person as JSON (the right of access), and erasure of someone who
has left (`hazard-snap users export-data PHONE`, `hazard-snap users erase PHONE`).

Erasing keeps the record and drops the person: their reports, hours, decisions and stars stay attached to the same
user id, now named "已注销用户 #<id>", with no phone, password or profile; their sessions and tokens end. It is
refused for the last active district admin, who could not be replaced from the service itself.

Left as it is: the history's copies of a name (report_event.actor_label, written when the person acted) are
append-only by design, as the tamper-evident record of who did what; erasure does not rewrite them.
"""
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from service.accounts import auth
from service.accounts.models import UserSession
from service.core import clock
from service.core.db import db
from service.core.errors import Conflict
from service.core.models import ApiToken, Report, User
from service.volunteers import stars
from service.volunteers.models import ServiceHourEntry, Volunteer

ERASED_NAME = "已注销用户 #{id}"


def erase(user: User) -> dict:
    """Anonymise a person who has left (module docstring), committed; return what was erased."""
    if user.role == "district_admin" and user.active and db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "district_admin", User.active)) <= 1:
        raise Conflict("last_admin", _("这是最后一位在用的区级管理员，不能注销；请先为他人开通区级管理员账号。"))
    erased = {"name": user.name, "phone": user.phone}
    user.name, user.phone = ERASED_NAME.format(id=user.id), f"erased-{user.id}"
    user.password_hash, user.active = None, False
    auth.end_sessions(user)
    profile = db.session.get(Volunteer, user.id)
    if profile is not None:
        profile.real_name, profile.team, profile.skills, profile.tags, profile.availability = "", None, [], [], []
        profile.active = False
    db.session.commit()
    return {"user_id": user.id, "erased": sorted(erased) + (["profile"] if profile is not None else [])}


def _hours(user_id: int) -> dict:
    summary = stars.summaries([user_id])[user_id]
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in summary.items()}


def export(user: User) -> dict:
    """Everything the service holds about one person, as JSON-ready data."""
    profile = db.session.get(Volunteer, user.id)
    reports = db.session.execute(select(Report.id, Report.created_at, Report.category, Report.status,
                                        Report.description, Report.contact, Report.address)
                                 .where(Report.reporter_id == user.id).order_by(Report.created_at)).all()
    entries = db.session.execute(select(ServiceHourEntry.id, ServiceHourEntry.service_date, ServiceHourEntry.hours,
                                        ServiceHourEntry.source, ServiceHourEntry.note)
                                 .where(ServiceHourEntry.volunteer_id == user.id).order_by(ServiceHourEntry.id)).all()
    tokens = db.session.execute(select(ApiToken.created_at, ApiToken.expires_at, ApiToken.last_used_at,
                                       ApiToken.revoked_at).where(ApiToken.user_id == user.id)).all()
    signed_in = db.session.execute(select(UserSession.created_at, UserSession.last_seen_at, UserSession.ended_at)
                                   .where(UserSession.user_id == user.id).order_by(UserSession.created_at)).all()
    return {
        "exported_at": clock.now().isoformat(),
        "account": {"id": user.id, "name": user.name, "phone": user.phone, "role": user.role,
                    "area": user.area.code if user.area else None, "active": user.active,
                    "created_at": user.created_at.isoformat()},
        "volunteer_profile": None if profile is None else {
            "real_name": profile.real_name, "committee_code": profile.committee_code, "team": profile.team,
            "skills": profile.skills, "tags": profile.tags, "availability": profile.availability,
            "active": profile.active},
        "hours": _hours(user.id) if profile is not None else None,
        "reports": [{"id": str(r.id), "created_at": r.created_at.isoformat(), "category": r.category,
                     "status": r.status, "description": r.description, "contact": r.contact, "address": r.address}
                    for r in reports],
        "hour_entries": [{"id": e.id, "service_date": e.service_date.isoformat(), "hours": float(e.hours),
                          "source": e.source, "note": e.note} for e in entries],
        "api_tokens": [{k: (v.isoformat() if v else None) for k, v in t._asdict().items()} for t in tokens],
        "sessions": [{k: (v.isoformat() if v else None) for k, v in s._asdict().items()} for s in signed_in],
    }
