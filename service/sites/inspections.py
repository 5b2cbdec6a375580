"""Inspection rounds (巡查): plan sites x period x inspectors, check in on the spot, record each checklist item;
an item found to be a hazard becomes a report through the normal intake (assignment, photos, dedup, links)."""
import re
from datetime import date, datetime
from itertools import cycle

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import case, cast, func, select
from werkzeug.datastructures import MultiDict

from service.core import clock, localtime
from service.core.db import db
from service.core.errors import ApiError, Conflict, Forbidden, Invalid, NotFound
from service.core.models import User
from service.reports import intake, location
from service.reports.duplicates import GEOGRAPHY
from service.sites.campaigns import BAD_TITLE, day
from service.sites.kinds import CHECK_ITEMS, DEFAULT_CHECKLISTS
from service.sites.models import Inspection, InspectionRound, Site, visible_sites
from service.volunteers.queries import directed

PLANNERS = frozenset({"town_supervisor", "district_admin"})
INSPECTORS = frozenset({"volunteer", "committee_staff"})
RESULTS = ("ok", "hazard", "na")
MAX_SITES = 2000
BAD_SITES = _l("请列出 1 到 2000 个场所编号。")
BAD_INSPECTORS = _l("请至少指定一名巡查人员（用户编号）。")
MAX_USER_ID = 2**31 - 1  # user.id is an integer column


def checklist(kind: str) -> list[tuple[str, str]]:
    """(code, label) of the items an inspector checks at a site of this kind."""
    codes = current_app.config["INSPECTION_CHECKLISTS"].get(kind) or DEFAULT_CHECKLISTS[kind]
    return [(c, str(CHECK_ITEMS[c][0])) for c in codes if c in CHECK_ITEMS]



def plan(body: dict, user: User) -> InspectionRound:
    """Plan a round: its sites (by external id, in the planner's scope) shared out in turn among its inspectors,
    each of whom the planner must direct (_named); any refusal comes before anything is stored."""
    if user.role not in PLANNERS:
        raise Forbidden("forbidden", _("只有街镇督导或区级管理员可以安排巡查。"))
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 100:
        raise Invalid("bad_title", str(BAD_TITLE))
    starts, ends = day(body.get("starts_on"), "starts_on"), day(body.get("ends_on"), "ends_on")
    if ends < starts:
        raise Invalid("bad_dates", _("结束日期不能早于开始日期，活动最长一年。"))
    wanted, people = body.get("sites"), body.get("inspectors")
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= MAX_SITES or not all(isinstance(s, str) for s in wanted):
        raise Invalid("bad_sites", str(BAD_SITES))
    if not isinstance(people, list) or not people or not all(isinstance(p, int) and not isinstance(p, bool)
                                                             for p in people):
        raise Invalid("bad_inspectors", str(BAD_INSPECTORS))
    sites = db.session.scalars(select(Site).where(Site.external_id.in_(wanted), visible_sites(user))
                               .order_by(Site.name, Site.id)).all()
    if len(sites) != len(set(wanted)):
        raise Invalid("unknown_sites", _("有场所编号不存在或不在您的管辖范围内，请核对后重试。"))
    found = set(db.session.scalars(select(User.id).where(User.id.in_([p for p in people if 0 < p <= MAX_USER_ID]),
                                                         *_named(user))))
    outside = [str(p) for p in dict.fromkeys(people) if p not in found]
    if outside:  # an unknown id gets the same answer as someone else's worker: ids cannot be probed
        raise Invalid("unknown_inspectors", _(
            "巡查人员须为您管辖范围内在册的志愿者或居村委工作人员，这些用户编号不在您的管辖范围内：%(ids)s。",
            ids="、".join(outside[:10])))
    rnd = InspectionRound(title=title.strip(), starts_on=starts, ends_on=ends, created_by=user.id)
    db.session.add(rnd)
    db.session.add_all(Inspection(round=rnd, site=site, inspector_id=who)
                       for site, who in zip(sites, cycle(sorted(set(people))), strict=False))
    db.session.commit()
    return rnd


def of_round(round_id: int) -> list[Inspection]:
    return db.session.scalars(select(Inspection).where(Inspection.round_id == round_id).order_by(Inspection.id)).all()


def _named(user: User) -> tuple:
    """The conditions on every person a round names: an active volunteer or committee worker the planner directs
    (directed: of the planner's town, or the district's for the district admin)."""
    return User.active, User.role.in_(INSPECTORS), directed(user)


def inspector_ids(phones: list[str], user: User) -> list[int]:
    """The user ids of inspectors named by phone (the planning page's form). A phone nobody registered and one of
    a person outside the planner's area get the same 422, so the form cannot tell which phones are registered."""
    found = dict(db.session.execute(select(User.phone, User.id).where(User.phone.in_(phones), *_named(user))).all())
    outside = [p for p in dict.fromkeys(phones) if p not in found]
    if outside:
        raise Invalid("unknown_inspectors", _(
            "这些手机号不在您的管辖范围内（巡查人员须为辖区内在册的志愿者或居村委工作人员）：%(phones)s。",
            phones="、".join(outside[:10])))
    return [found[p] for p in phones]


def mine(user: User) -> list[Inspection]:
    """The inspector's unfinished inspections of rounds under way, the soonest due first."""
    return db.session.scalars(
        select(Inspection).join(InspectionRound).where(Inspection.inspector_id == user.id,
                                                       Inspection.finished_at.is_(None),
                                                       InspectionRound.starts_on <= localtime.today())
        .order_by(InspectionRound.ends_on, Inspection.id).limit(200)).all()


def get_own(inspection_id, user: User, for_update: bool = False) -> Inspection:
    """Return the user's own inspection; anyone else's, or an unknown id, is the same 404."""
    wanted = int(inspection_id) if re.fullmatch("[0-9]{1,9}", str(inspection_id)) else None
    query = select(Inspection).where(Inspection.id == wanted, Inspection.inspector_id == user.id)
    found = db.session.scalar(query.with_for_update() if for_update else query) if wanted else None
    if found is None:
        raise NotFound("inspection_not_found", _("找不到该巡查任务，请从“我的巡查”进入。"))
    return found


def check_in(inspection_id, form, user: User) -> Inspection:
    """Record the inspector's arrival: the position must be within INSPECTION_CHECKIN_M of the site."""
    found = get_own(inspection_id, user, for_update=True)
    if found.finished_at is not None:
        raise Conflict("inspection_finished", _("该巡查已完成，不能再签到。"))
    try:
        loc = location.parse_location(form, None)  # finite and in range, or a 422 naming the field
    except ApiError as e:
        if e.code != "no_location":
            raise
        raise Invalid("bad_location", _("请允许定位后再签到：需要经度 lon、纬度 lat 和坐标系 crs。")) from None
    lon, lat = loc.lon, loc.lat
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    distance = db.session.scalar(select(func.ST_Distance(cast(Site.geom, GEOGRAPHY), cast(point, GEOGRAPHY)))
                                 .where(Site.id == found.site_id))
    limit = current_app.config["INSPECTION_CHECKIN_M"]
    if distance > limit:
        db.session.rollback()
        raise Invalid("too_far", _("您距离该场所约 %(d)d 米，超过 %(m)d 米，请到达现场后再签到。",
                                         d=round(distance), m=round(limit)))
    found.checked_in_at, found.checkin_distance_m = clock.now(), distance
    found.checkin_location = from_shape(Point(lon, lat), srid=4326)
    db.session.commit()
    return found


def finish(inspection_id, form: MultiDict, files, user: User) -> Inspection:
    """Record every item's result; each hazard becomes a report through intake, with its photo.

    Reports carry a client_report_id per inspection and item, so a retry after a failure makes no second report;
    the inspection is marked finished only once every hazard's report exists."""
    found = get_own(inspection_id, user)
    if found.finished_at is not None:
        raise Conflict("inspection_finished", _("该巡查已完成。"))
    if found.checked_in_at is None:
        raise Conflict("not_checked_in", _("请先在现场签到，再填写巡查结果。"))
    items = checklist(found.site.kind)
    results = {code: form.get(f"item_{code}") for code, _label in items}
    missing = [label for code, label in items if results[code] not in RESULTS]
    if missing:
        raise Invalid("items_missing", _("请为每一项选择“正常”“隐患”或“不适用”：%(items)s。",
                                               items="、".join(missing)))
    for code, label in items:
        if results[code] == "hazard" and not any(f and f.filename for f in files.getlist(f"photo_{code}")):
            raise Invalid("hazard_photo_missing", _("“%(item)s”标为隐患，请拍摄现场照片。", item=label))
    lon, lat = db.session.execute(select(func.ST_X(Inspection.checkin_location), func.ST_Y(Inspection.checkin_location))
                                  .where(Inspection.id == found.id)).one()
    recorded = {}
    for code, label in items:
        recorded[code] = {"result": results[code]}
        if results[code] == "hazard":
            fields = MultiDict({"category": CHECK_ITEMS[code][1], "lon": str(lon), "lat": str(lat),
                                "client_report_id": f"inspection-{found.id}-{code}", "address": found.site.name,
                                "description": _("巡查发现：%(item)s不符合要求。%(note)s", item=label,
                                                 note=(form.get(f"note_{code}") or "")[:500])})
            report, _created = intake.create_report(fields, files.getlist(f"photo_{code}"), reporter_id=user.id)
            recorded[code]["report_id"] = str(report.id)
    found = get_own(inspection_id, user, for_update=True)
    found.results, found.finished_at = recorded, clock.now()
    db.session.commit()
    return found


def coverage(user: User, month: date) -> dict:
    """Per site and in total for the month: inspections due, done on time, done late and overdue (in scope)."""
    first = month.replace(day=1)
    last = localtime.next_month(first)  # rounds due in the month
    finished_on = func.date(func.timezone(current_app.config["LOCAL_TIMEZONE"], Inspection.finished_at))
    on_time = Inspection.finished_at.is_not(None) & (finished_on <= InspectionRound.ends_on)
    late = Inspection.finished_at.is_not(None) & ~on_time
    overdue = Inspection.finished_at.is_(None) & (InspectionRound.ends_on < localtime.today())
    rows = db.session.execute(
        select(Site.id, Site.name, func.count(), func.count(case((on_time, 1))), func.count(case((late, 1))),
               func.count(case((overdue, 1))))
        .select_from(Inspection).join(InspectionRound).join(Site)
        .where(InspectionRound.ends_on >= first, InspectionRound.ends_on < last, visible_sites(user))
        .group_by(Site.id, Site.name).order_by(Site.name, Site.id)).all()
    by_site = [{"id": r[0], "name": r[1], "due": r[2], "on_time": r[3], "late": r[4], "overdue": r[5]} for r in rows]
    total = {k: sum(s[k] for s in by_site) for k in ("due", "on_time", "late", "overdue")}
    return {"month": month.strftime("%Y-%m"), "total": total, "by_site": by_site}


def section(user: User, filt, now: datetime) -> dict:
    """The dashboard's inspection section (GET /api/v1/stats too): coverage in the month of the filter's last day."""
    found = coverage(user, filt.until or localtime.today())
    labels = [str(_("按时完成")), str(_("逾期完成")), str(_("逾期未巡查"))]
    chart = {"id": "inspection-coverage", "kind": "bar", "title": _("本月巡查覆盖"), "labels": labels, "links": [],
             "series": [{"name": _("巡查任务"), "data": [found["total"][k] for k in ("on_time", "late", "overdue")]}]}
    return found | {"charts": [chart]}
