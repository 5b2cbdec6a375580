"""Monthly themed campaigns (每月主题): defined by admins, shown on the report page, measured by their results.

A campaign changes no report, not even when it ends: its results are computed from the reports of its focus
(categories, or reports at sites of its focus kinds) in its target towns over its days, against the days before.
"""
import re
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, text, tuple_

from service.accounts import scope
from service.core import clock, cursors, localtime
from service.core.db import db
from service.core.errors import Conflict, Forbidden, Invalid, NotFound
from service.core.models import Area, Report, User
from service.rules.categories import CATEGORIES
from service.sites import queries
from service.sites.kinds import SITE_KINDS
from service.sites.models import Campaign, Inspection, Site, visible_sites
from service.sites.recurrence import day_bounds

MAX_TITLE, MAX_GUIDANCE, MAX_DAYS = 100, 500, 366
BAD_TITLE = _l("标题不能为空且不超过 100 个字。")
BAD_DAY = _l("日期格式应为 YYYY-MM-DD，例如 2026-11-01。")
BAD_GUIDANCE = _l("指引文字不能超过 500 个字。")
BAD_CATEGORIES = _l("重点类别无效，请从隐患类别中选择。")
BAD_SITE_KINDS = _l("重点场所类型无效，请从场所类型中选择。")
BAD_TOWNS = _l("目标街镇代码无效，请填写 9 位街镇代码；留空表示全区。")


def day(raw, field: str) -> date:
    """A YYYY-MM-DD day sent for field, else a 422 bad_<field> (campaigns and inspection rounds)."""
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Invalid(f"bad_{field}", str(BAD_DAY)) from None


def _codes(raw, allowed, code: str, message: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw) or not set(raw) <= set(allowed):
        raise Invalid(code, message)
    return list(dict.fromkeys(raw))


def _towns() -> set[str]:
    return set(db.session.scalars(select(Area.code).where(Area.level == "town")))


def create(body: dict, user: User) -> Campaign:
    """Define a campaign (district admins only); every field is checked, a bad one is a 422 saying what to fix."""
    if user.role != "district_admin":
        raise Forbidden("forbidden", _("只有区级管理员可以设置每月主题活动。"))
    title, guidance = body.get("title"), body.get("guidance", "")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise Invalid("bad_title", str(BAD_TITLE))
    if not isinstance(guidance, str) or len(guidance) > MAX_GUIDANCE:
        raise Invalid("bad_guidance", str(BAD_GUIDANCE))
    starts, ends = day(body.get("starts_on"), "starts_on"), day(body.get("ends_on"), "ends_on")
    if not starts <= ends <= starts + timedelta(days=MAX_DAYS):
        raise Invalid("bad_dates", _("结束日期不能早于开始日期，活动最长一年。"))
    categories = _codes(body.get("focus_categories", []), CATEGORIES, "bad_categories", str(BAD_CATEGORIES))
    kinds = _codes(body.get("focus_site_kinds", []), SITE_KINDS, "bad_site_kinds", str(BAD_SITE_KINDS))
    if not categories and not kinds:
        raise Invalid("no_focus", _("请至少选择一个重点类别或重点场所类型。"))
    towns = _codes(body.get("target_towns", []), _towns(), "bad_towns", str(BAD_TOWNS))
    campaign = Campaign(title=title.strip(), guidance=guidance.strip(), starts_on=starts, ends_on=ends,
                        focus_categories=categories, focus_site_kinds=kinds, target_towns=towns, created_by=user.id)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def end(campaign_id, user: User) -> Campaign:
    """End a campaign now (it leaves the report page); no report changes."""
    if user.role != "district_admin":
        raise Forbidden("forbidden", _("只有区级管理员可以设置每月主题活动。"))
    campaign = get(campaign_id)
    if campaign.ended_at is not None or campaign.ends_on < localtime.today():
        raise Conflict("campaign_over", _("该活动已经结束。"))
    campaign.ended_at = clock.now()
    db.session.commit()
    return campaign


def get(campaign_id) -> Campaign:
    wanted = int(campaign_id) if re.fullmatch("[0-9]{1,9}", str(campaign_id)) else None
    found = db.session.get(Campaign, wanted) if wanted else None
    if found is None:
        raise NotFound("campaign_not_found", _("找不到该活动，请检查编号是否正确。"))
    return found


def current() -> list[Campaign]:
    """The campaigns running today (several may overlap), the latest started first."""
    day = localtime.today()
    return db.session.scalars(select(Campaign).where(Campaign.starts_on <= day, Campaign.ends_on >= day,
                                                     Campaign.ended_at.is_(None))
                              .order_by(Campaign.starts_on.desc(), Campaign.id.desc())).all()


def page(cursor: str = "") -> tuple[list[Campaign], str | None]:
    """One page of all campaigns, the latest starting first (keyset on starts_on, id), and the next page's cursor."""
    query = select(Campaign)
    if cursor:
        after = cursors.decode(cursor, cursors.DATE, cursors.INT)
        query = query.where(tuple_(Campaign.starts_on, Campaign.id) < tuple_(*after))
    rows = db.session.scalars(query.order_by(Campaign.starts_on.desc(), Campaign.id.desc())
                              .limit(queries.PAGE + 1)).all()
    return queries.split(rows, lambda c: (c.starts_on.isoformat(), c.id))


def focus_first(catalogue: dict, running: list[Campaign]) -> dict:
    """The categories as the report page offers them: the running campaigns' focus first, then the rest."""
    focus = [c for campaign in running for c in campaign.focus_categories]
    rank = {code: i for i, code in enumerate(dict.fromkeys(focus))}
    ordered = sorted(catalogue["categories"], key=lambda c: rank.get(c["code"], len(rank)))
    return catalogue | {"categories": ordered, "focus": list(rank)}


def to_json(c: Campaign) -> dict:
    return {"id": c.id, "title": c.title, "starts_on": c.starts_on.isoformat(), "ends_on": c.ends_on.isoformat(),
            "focus_categories": c.focus_categories, "focus_site_kinds": c.focus_site_kinds,
            "target_towns": c.target_towns, "guidance": c.guidance,
            "ended_at": c.ended_at.isoformat() if c.ended_at else None}


def results(c: Campaign, user: User) -> dict:
    """Reports of the focus in the target towns during the campaign and in as many days before, the share of the
    campaign's reports rectified on time, and the sites of the focus kinds: SQL over the whole table, in scope."""
    last = min(c.ends_on, c.ended_at.astimezone(localtime.zone()).date() if c.ended_at else c.ends_on)
    start, end = day_bounds(c.starts_on, last)
    before = start - (end - start)
    focus = []
    if c.focus_categories:
        focus.append(Report.category.in_(c.focus_categories))
    if c.focus_site_kinds:
        focus.append(Report.site_id.in_(select(Site.id).where(Site.kind.in_(c.focus_site_kinds))))
    towns = [Report.town_id.in_(select(Area.id).where(Area.code.in_(c.target_towns)))] if c.target_towns else []
    during = Report.created_at >= start
    row = db.session.execute(
        select(func.count(case((during, 1))), func.count(case((~during, 1))),
               func.count(case((during & (Report.rectified_at <= Report.due_at), 1))),
               func.count(case((during & text("report.status = 'verified'"), 1))))
        .where(Report.created_at >= before, Report.created_at < end, or_(*focus), *towns, scope.visible(user))).one()
    in_towns = [Site.town_id.in_(select(Area.id).where(Area.code.in_(c.target_towns)))] if c.target_towns else []
    sites = select(func.count()).select_from(Site).where(Site.kind.in_(c.focus_site_kinds), visible_sites(user),
                                                         *in_towns)
    inspected = (select(func.count(func.distinct(Inspection.site_id))).join(Site, Site.id == Inspection.site_id)
                 .where(Inspection.finished_at >= start, Inspection.finished_at < end, visible_sites(user),
                        *in_towns, *([Site.kind.in_(c.focus_site_kinds)] if c.focus_site_kinds else [])))
    return {"campaign": to_json(c), "from": start.isoformat(), "to": end.isoformat(), "reports": row[0],
            "reports_before": row[1], "rectified_on_time": row[2], "verified": row[3],
            "on_time_rate": round(row[2] / row[0], 4) if row[0] else None,
            "focus_sites": db.session.scalar(sites) if c.focus_site_kinds else 0,
            "sites_inspected": db.session.scalar(inspected)}


def banner(running: list[Campaign]) -> list[dict]:
    """What the report page says of each running campaign, with names for its codes (one query for the towns)."""
    codes = {t for c in running for t in c.target_towns}
    names = dict(db.session.execute(select(Area.code, Area.name).where(Area.level == "town", Area.code.in_(codes))
                                    .order_by(Area.generation)).all()) if codes else {}
    return [{"id": c.id, "title": c.title, "starts_on": c.starts_on, "ends_on": c.ends_on, "guidance": c.guidance,
             "categories": [str(CATEGORIES[k].name) for k in c.focus_categories],
             "site_kinds": [str(SITE_KINDS[k]) for k in c.focus_site_kinds],
             "towns": [names.get(t, t) for t in c.target_towns]} for c in running]


def town_choices() -> list[tuple[str, str]]:
    """(code, name) of the towns of the newest boundary generation, for the campaign form."""
    newest = select(func.max(Area.generation)).where(Area.level == "town").scalar_subquery()
    return db.session.execute(select(Area.code, Area.name).where(Area.level == "town", Area.generation == newest)
                              .order_by(Area.code)).all()


def section(user: User, filt, now: datetime) -> dict:
    """The dashboard's campaign section (GET /api/v1/stats too): the results of the campaigns running today."""
    found = [results(c, user) for c in current()]
    chart = {"id": "campaign-results", "kind": "bar", "title": _("主题活动：重点类别上报与此前同期"),
             "labels": [r["campaign"]["title"] for r in found], "links": [],
             "series": [{"name": _("活动期间"), "data": [r["reports"] for r in found]},
                        {"name": _("此前同期"), "data": [r["reports_before"] for r in found]}]}
    return {"running": found, "charts": [chart] if found else []}
