"""Take in a service order from anyone (点单): validate, locate, assign, and hand back a private tracking token."""
import re
import secrets
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from werkzeug.datastructures import MultiDict

from service.accounts.auth import token_digest
from service.areas import assignment
from service.core import clock, localtime
from service.core.db import db
from service.core.errors import Invalid
from service.orders import notices
from service.orders.models import ServiceOrder, ServiceOrderEvent
from service.orders.workflow import KINDS
from service.reports.location import parse_location
from service.volunteers.roster import PHONE, normalize_phone

LANDLINE = re.compile(r"0[0-9]{2,3}[0-9]{7,8}|[2-9][0-9]{7}")  # with an area code, or a local Shanghai number
MAX_TEXT, MAX_ADDRESS, MAX_NAME = 1000, 200, 50
MAX_WINDOW = timedelta(hours=12)
FURTHEST_START = timedelta(days=60)


def _text(form: MultiDict, name: str, limit: int) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise Invalid("bad_" + name, _("“%(name)s”不能超过 %(n)s 个字，请精简后重试。", name=name, n=limit))
    return value


def parse_time(raw, name: str) -> datetime:
    """A time from a form (datetime-local, read as local time) or JSON (ISO 8601 with or without a zone)."""
    try:
        t = datetime.fromisoformat(raw.strip()) if isinstance(raw, str) and raw.strip() else None
    except ValueError:
        t = None
    if t is None:
        raise Invalid("bad_" + name, _("请填写有效的服务时间（%(name)s），例如 2026-12-01T09:00。", name=name))
    return localtime.attach(t).astimezone(UTC)


def _window(form: MultiDict, now: datetime) -> tuple[datetime, datetime]:
    start, end = parse_time(form.get("window_start"), "window_start"), parse_time(form.get("window_end"), "window_end")
    if end <= start:
        raise Invalid("window_backwards", _("结束时间必须晚于开始时间，请重新选择服务时段。"))
    if end <= now:
        raise Invalid("window_past", _("服务时段已经过去，请选择今后的时间。"))
    if end - start > MAX_WINDOW:
        raise Invalid("window_too_long", _("服务时段不能超过 12 小时，请缩短时段或分成几单。"))
    if start > now + FURTHEST_START:
        raise Invalid("window_too_far", _("只能预约 60 天以内的服务，请重新选择日期。"))
    return start, end


def _phone(form: MultiDict) -> str:
    phone = normalize_phone((form.get("contact_phone") or "").strip())
    if not (PHONE.fullmatch(phone) or LANDLINE.fullmatch(phone)):
        raise Invalid("bad_contact_phone", _("请填写正确的联系电话（11 位手机号或固定电话），方便志愿者联系您。"))
    return phone


def _needed(form: MultiDict) -> int:
    raw = (form.get("volunteers_needed") or "1").strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10:
        raise Invalid("bad_volunteers_needed", _("所需志愿者人数应为 1 到 10 之间的整数。"))
    return int(raw)


def create_order(form: MultiDict, requester_ip: str | None = None) -> tuple[ServiceOrder, str]:
    """Create an order from form fields; return it with its tracking token (shown once, stored hashed)."""
    kind = (form.get("kind") or "").strip()
    if kind not in KINDS:
        raise Invalid("bad_kind", _("服务类型无效，请从列表中选择一种服务。"))
    description, address = _text(form, "description", MAX_TEXT), _text(form, "address", MAX_ADDRESS)
    name, phone = _text(form, "contact_name", MAX_NAME), _phone(form)
    now = clock.now()
    start, end = _window(form, now)
    needed = _needed(form)
    loc = parse_location(form, None)
    assigned = assignment.assign_point(loc.lon, loc.lat)
    if assigned is None:
        raise Invalid("outside_area", _("该位置不在服务范围内（距最近的居村委超过 %(m)s 米），"
                                              "请确认定位或重新选点。", m=int(assignment.max_distance())))
    token = secrets.token_urlsafe(24)
    order = ServiceOrder(
        kind=kind, description=description, address=address or None, contact_name=name or None,
        contact_phone=phone, location=from_shape(Point(loc.lon, loc.lat), srid=4326), submitted_lon=loc.submitted[0],
        submitted_lat=loc.submitted[1], submitted_crs=loc.crs, location_source=loc.source,
        committee_id=assigned.committee_id, town_id=assigned.town_id, assignment_method=assigned.method,
        assignment_distance_m=assigned.distance_m, window_start=start, window_end=end, volunteers_needed=needed,
        status="submitted", tracking_hash=token_digest(token), requester_ip=requester_ip)
    db.session.add(order)
    db.session.flush()
    event = ServiceOrderEvent(order_id=order.id, action="submit", from_status=None, to_status="submitted",
                              actor_label=name or None, data={})
    db.session.add(event)
    db.session.flush()
    notices.to_town(order, event, "new")
    db.session.commit()
    return order, token
