"""Add, list, disable and match the bodies a report can be handed to.

A body serves committee or town codes, or an outline of its own (a compound, a complex), and takes some categories.
Its channel's address is checked before it is stored (service.core.outbound.check_endpoint): https, or a host the
operator listed, and never a loopback, private or link-local address unless listed. The Open311 key is stored for
delivery and shown by nothing: describe() is what every page, list and log gets.
"""
import json
import re
from collections.abc import Iterable

from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, shape
from sqlalchemy import any_, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from service.areas import boundaries
from service.bodies.models import CHANNELS, KINDS, SYNC_VIA, Body
from service.core import clock, outbound
from service.core.db import db
from service.core.errors import Conflict, Invalid
from service.core.models import Area, Report
from service.rules.categories import CATEGORIES
from service.rules.workflow import TRANSITIONS

TRANSFERABLE = tuple(s for s, targets in TRANSITIONS.items() if "transferred" in targets)
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_HOURS = 24 * 90
SERVICE_CODE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def split(raw: str) -> list[str]:
    """Codes typed in one field, comma-separated (a full-width comma too), as add() takes them."""
    return [p for p in (raw or "").replace("，", ",").split(",") if p.strip()]


def _outline(raw: str | None):
    """A GeoJSON Polygon or MultiPolygon (WGS-84), as a stored MULTIPOLYGON, or None."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
        geom = shape(data.get("geometry", data) if data.get("type") == "Feature" else data)
    except (ValueError, TypeError, AttributeError, KeyError):
        geom = None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid or geom.is_empty:
        raise Invalid("bad_outline", _("范围轮廓应为有效的 GeoJSON 面（Polygon 或 MultiPolygon，WGS-84 经纬度）。"))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("bad_outline", _("范围轮廓的坐标应为 WGS-84 经纬度。"))
    return from_shape(MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom, srid=4326)


def _areas(codes: Iterable[str]) -> list[str]:
    codes = sorted({c.strip() for c in codes if c.strip()})
    for code in codes:
        area = boundaries.latest(code)
        if area is None or area.level not in ("town", "committee"):
            raise Invalid("unknown_area", _("找不到街镇或居村委代码 %(code)s。", code=code))
    return codes


def _categories(codes: Iterable[str]) -> list[str]:
    codes = sorted({c.strip() for c in codes if c.strip()})
    unknown = [c for c in codes if c not in CATEGORIES]
    if not codes or unknown:
        raise Invalid("unknown_category", _("请从以下类别中选择受理类别：%(codes)s。", codes="、".join(CATEGORIES)))
    return codes


def parse_service_codes(raw: str | Iterable[str] | None) -> dict[str, str]:
    """Our category -> the body's Open311 service_code, from `fire_lane_blocked=FL01, illegal_wiring=EL02` (one
    field) or pairs (repeated --service-code); an unknown category or a malformed code is refused by name."""
    pairs = split(raw) if isinstance(raw, str) else list(raw or ())
    codes = {}
    for pair in pairs:
        category, _eq, code = (p.strip() for p in pair.replace("＝", "=").partition("="))
        if category not in CATEGORIES or not SERVICE_CODE_RE.fullmatch(code):
            raise Invalid("bad_service_code", _("对方类别代码应写成“本系统类别=对方代码”，以逗号分隔，如 "
                                                "fire_lane_blocked=FL01；对方代码为 1 到 64 个字母、数字或 _ . : -。"
                                                "（%(pair)s）", pair=pair.strip()[:80]))
        codes[category] = code
    return codes


def service_code(body: Body, category: str) -> str:
    """The service_code a report of this category is sent to the body with: its own code, else ours."""
    return (body.service_codes or {}).get(category, category)


def _endpoint(channel: str, endpoint: str) -> str:
    endpoint = (endpoint or "").strip()
    if channel == "email":
        if not EMAIL_RE.fullmatch(endpoint):
            raise Invalid("bad_email", _("请填写有效的电子邮箱地址。"))
        return endpoint
    try:
        outbound.check_endpoint(endpoint)
    except outbound.OutboundError as e:
        message = _("接口地址不可用：须为 https 地址，且不得指向本机、内网或链路本地地址"
                    "（确需时由运维列入 OUTBOUND_ALLOW_HOSTS）。（%(why)s）", why=str(e))
        raise Invalid("endpoint_refused", message) from None
    return endpoint.rstrip("/") if channel == "open311" else endpoint


def _hours(sign_hours: int, finish_hours: int) -> None:
    if not (1 <= sign_hours <= MAX_HOURS and sign_hours <= finish_hours <= MAX_HOURS):
        raise Invalid("bad_deadlines", _("签收时限与办结时限应为 1 到 %(n)s 小时，且办结时限不短于签收时限。",
                                         n=MAX_HOURS))


def add(*, name: str, kind: str, channel: str, endpoint: str, categories: Iterable[str],
        area_codes: Iterable[str] = (), outline: str | None = None, jurisdiction_id: str | None = None,
        credential: str | None = None, sign_hours: int = 24, finish_hours: int = 168,
        service_codes: str | Iterable[str] | None = None, sync_via: str = "updates") -> Body:
    """Register a body after checking every field; committed. A Conflict when the name is taken."""
    name = (name or "").strip()
    if not name:
        raise Invalid("name_required", _("请填写单位名称。"))
    if kind not in KINDS:
        raise Invalid("bad_kind", _("单位类型应为 %(kinds)s 之一。", kinds="、".join(KINDS)))
    if channel not in CHANNELS:
        raise Invalid("bad_channel", _("对接方式应为 %(channels)s 之一。", channels="、".join(CHANNELS)))
    codes, geom = _areas(area_codes), _outline(outline)
    if not codes and geom is None:
        raise Invalid("no_area", _("请填写该单位负责的街镇或居村委代码，或上传其范围轮廓。"))
    cats, endpoint = _categories(categories), _endpoint(channel, endpoint)
    _hours(sign_hours, finish_hours)
    own_codes = parse_service_codes(service_codes)
    if sync_via not in SYNC_VIA:
        raise Invalid("bad_sync_via", _("回传方式应为 %(ways)s 之一。", ways="、".join(SYNC_VIA)))
    if set(own_codes) - set(cats):
        raise Invalid("bad_service_code", _("对方类别代码只能为该单位受理的类别填写：%(codes)s。",
                                            codes="、".join(sorted(set(own_codes) - set(cats)))))
    if channel == "open311" and not ((credential or "").strip() and (jurisdiction_id or "").strip()):
        raise Invalid("open311_key_required", _("Open311 对接须填写对方签发的 api_key 和 jurisdiction_id。"))
    if db.session.scalar(select(Body.id).where(Body.name == name)) is not None:
        raise Conflict("body_exists", _("已有名为“%(name)s”的单位。", name=name))
    body = Body(name=name, kind=kind, channel=channel, endpoint=endpoint, categories=cats, area_codes=codes,
                outline=geom, jurisdiction_id=(jurisdiction_id or "").strip() or None,
                credential=(credential or "").strip() or None if channel == "open311" else None,
                sign_hours=sign_hours, finish_hours=finish_hours,
                service_codes=own_codes if channel == "open311" else {}, sync_via=sync_via)
    db.session.add(body)
    db.session.commit()
    return body


def disable(body_id: int) -> Body:
    """Stop suggesting and delivering to a body (its past transfers stay); committed. Idempotent."""
    body = db.session.get(Body, body_id)
    if body is None:
        raise Invalid("unknown_body", _("找不到编号为 %(id)s 的单位。", id=body_id))
    if body.active:
        body.active, body.disabled_at = False, clock.now()
        db.session.commit()
    return body


def listed(include_disabled: bool = False, limit: int = 200, after_id: int = 0) -> list[Body]:
    """Bodies by id, a page at a time (the registry is small, but a list is never unbounded)."""
    query = select(Body).where(Body.id > after_id)
    if not include_disabled:
        query = query.where(Body.active)
    return list(db.session.scalars(query.order_by(Body.id).limit(limit)))


def describe(body: Body) -> dict:
    """What may be shown of a body: everything but its key."""
    return {"id": body.id, "name": body.name, "kind": body.kind, "channel": body.channel, "endpoint": body.endpoint,
            "jurisdiction_id": body.jurisdiction_id, "area_codes": list(body.area_codes),
            "has_outline": body.outline is not None, "categories": list(body.categories),
            "sign_hours": body.sign_hours, "finish_hours": body.finish_hours, "active": body.active,
            "has_key": body.credential is not None, "service_codes": dict(body.service_codes or {}),
            "sync_via": body.sync_via}


def matching(report: Report, limit: int = 5) -> list[Body]:
    """The active bodies that take this report's category where it lies: an outline covering it first (the most
    specific), then those serving its committee, then its town. A hotline is never suggested: its orders go back
    to it (退回, 答复), they are not handed to it."""
    covers = func.coalesce(func.ST_Covers(Body.outline, report.location), literal(False))
    committee, town = report.committee.code, report.town.code
    query = select(Body).where(
        Body.active, Body.kind != "hotline", Body.categories.any(report.category),
        or_(covers, Body.area_codes.overlap([committee, town])),
    ).order_by(covers.desc(), Body.area_codes.any(committee).desc(), Body.name).limit(limit)
    return list(db.session.scalars(query))


def choices(report: Report, limit: int = 50) -> list[dict]:
    """The transfer form's list: the suggested bodies first, then the other active ones taking the category."""
    suggested = matching(report)
    others = db.session.scalars(select(Body).where(
        Body.active, Body.categories.any(report.category), Body.id.not_in([b.id for b in suggested] or [0]))
        .order_by(Body.name).limit(limit))
    return ([{"id": b.id, "name": b.name, "suggested": True} for b in suggested]
            + [{"id": b.id, "name": b.name, "suggested": False} for b in others])


def suggested_for(report_ids) -> dict:
    """Report id -> the name of the body matching() would suggest first, for a page of reports, in one query (a
    LATERAL pick per report; the queues show it beside each report that could be transferred)."""
    ids = [i for i in report_ids if i is not None]
    if not ids:
        return {}
    committee, town = aliased(Area), aliased(Area)
    covers = func.coalesce(func.ST_Covers(Body.outline, Report.location), literal(False))
    in_committee = committee.code == any_(Body.area_codes)
    best = (select(Body.name).where(Body.active, Body.kind != "hotline", Report.category == any_(Body.categories),
                                    or_(covers, in_committee, town.code == any_(Body.area_codes)))
            .order_by(covers.desc(), in_committee.desc(), Body.name).limit(1).lateral())
    rows = db.session.execute(
        select(Report.id, best.c.name).join(committee, committee.id == Report.committee_id)
        .join(town, town.id == Report.town_id).join(best, true())
        .where(Report.id.in_(ids), Report.status.in_(TRANSFERABLE)))
    return dict(rows.all())
