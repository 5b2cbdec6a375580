"""On site: check-in and check-out with the phone's position, the outcome with photos, and the service hours.

Rule (setting ORDER_CHECKIN_MAX_M, 200 m): a check-in or check-out farther than that from the order's point is
refused, with the distance in the message; it is not flagged and let through, because the ledger counts only the
time on site (check-in to check-out) and a position elsewhere would count travel. Check-out appends a pending
ledger entry through the ledger's own rules (a day over 24 h and overlapping entries are refused there, and the
check-out with them); a visit shorter than 36 s rounds to 0 h and records no entry. The order is completed when
nobody is left on site; volunteers who accepted but never arrived are then withdrawn.
"""
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from geoalchemy2 import Geography
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import cast, func, select, update

from service.core import clock, localtime
from service.core.db import db
from service.core.errors import ApiError, Invalid
from service.core.models import User
from service.orders import queries
from service.orders.models import ServiceAssignment, ServiceOrder, ServiceOrderPhoto
from service.orders.moves import check, record
from service.photos.pipeline import process_uploads
from service.photos.staging import photo_transaction, read_uploads, stage_files
from service.reports.location import parse_location
from service.volunteers import ledger
from service.volunteers.models import Volunteer

MAX_OUTCOME = 2000


def _position(order: ServiceOrder, form) -> tuple[Point, float]:
    """The phone's position (WGS-84) and its distance from the order's point; refused when too far."""
    try:
        loc = parse_location(form, None)
    except ApiError as e:
        if e.code != "no_location":
            raise
        raise Invalid("no_location", _("签到和签退需要您的位置：请允许浏览器定位后重试。")) from e
    point = Point(loc.lon, loc.lat)
    here = cast(func.ST_SetSRID(func.ST_MakePoint(loc.lon, loc.lat), 4326), Geography)
    distance = db.session.scalar(select(func.ST_Distance(cast(ServiceOrder.location, Geography), here))
                                 .where(ServiceOrder.id == order.id))
    limit = current_app.config["ORDER_CHECKIN_MAX_M"]
    if distance > limit:
        raise Invalid("too_far", _("您距服务地点约 %(d)s 米，超过 %(limit)s 米，不能签到或签退；"
                                         "请到达现场后重试。", d=round(distance), limit=round(limit)))
    return point, distance


def check_in(order_id, user: User, form) -> ServiceOrder:
    """The volunteer arrives: check in with the phone's position."""
    order = queries.get_order(order_id, user, for_update=True)
    offer = queries.own_offer(order, user, for_update=True)
    check(order, "check_in", user.role, offer)
    point, distance = _position(order, form)
    before = order.status
    offer.state, offer.checked_in_at = "checked_in", clock.now()
    offer.checked_in_location, offer.checked_in_distance_m = from_shape(point, srid=4326), distance
    order.status = "in_service"
    record(order, "check_in", user, before, data={"distance_m": round(distance)})
    db.session.commit()
    return order


def check_out(order_id, user: User, form, files=()) -> ServiceOrder:
    """The volunteer leaves: check out on site, with the outcome and photos; the on-site time goes to the ledger."""
    order = queries.get_order(order_id, user, for_update=True)
    offer = queries.own_offer(order, user, for_update=True)
    check(order, "check_out", user.role, offer)
    outcome = (form.get("outcome") or "").strip()
    if len(outcome) > MAX_OUTCOME:
        raise Invalid("bad_outcome", _("服务结果不能超过 %(n)s 字。", n=MAX_OUTCOME))
    point, distance = _position(order, form)
    photos = process_uploads(read_uploads(files)) if any(f and f.filename for f in files) else []
    now, before = clock.now(), order.status
    offer.state, offer.checked_out_at = "checked_out", now
    offer.checked_out_location, offer.checked_out_distance_m = from_shape(point, srid=4326), distance
    offer.hour_entry_id = _hours(offer, order)
    if outcome:
        order.outcome = f"{order.outcome}\n{outcome}" if order.outcome else outcome
    db.session.flush()
    if not db.session.scalar(select(func.count()).where(ServiceAssignment.order_id == order.id,
                                                        ServiceAssignment.state == "checked_in")):
        order.status, order.completed_at = "completed", now
        db.session.execute(update(ServiceAssignment).where(
            ServiceAssignment.order_id == order.id, ServiceAssignment.state == "accepted").values(state="withdrawn"))
    with photo_transaction() as batch:
        event = record(order, "check_out", user, before, outcome, {"distance_m": round(distance)})
        for p in photos:
            keys = stage_files(batch, p)
            db.session.add(ServiceOrderPhoto(
                order_id=order.id, event_id=event.id, sha256=p.sha256, original_key=keys[0], public_key=keys[1],
                thumb_key=keys[2], content_type=p.content_type, width=p.width, height=p.height, bytes=len(p.original),
                redaction_pending=p.pending))
    return order


def _hours(offer: ServiceAssignment, order: ServiceOrder) -> int | None:
    """Append the on-site time as a pending ledger entry (the ledger's checks apply); its id, or None for 0 h."""
    span = offer.checked_out_at - offer.checked_in_at
    hours = Decimal(span.total_seconds() / 3600).quantize(Decimal("0.01"))
    if hours > ledger.DAY:
        raise Invalid("hours_over_day", _("签到至签退超过 24 小时，无法登记服务时长；"
                                                "请联系居村委工作人员按天手工登记。"))
    if hours <= 0:
        return None
    volunteer = db.session.get(Volunteer, offer.volunteer_id)
    item = ledger.EntryInput(hours=hours, service_date=offer.checked_in_at.astimezone(localtime.zone()).date(),
                             started_at=offer.checked_in_at, ended_at=offer.checked_out_at,
                             note=_("三单服务第 %(id)d 号", id=order.id))
    return ledger.add_entry(volunteer, item, None, source="task").id
