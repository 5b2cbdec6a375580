"""Take in a new hazard report: validate, locate, assign, store photos and the row together."""
import hashlib
import json
from collections.abc import Callable

from flask_babel import gettext as _
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage, MultiDict

from service.areas import assignment
from service.core import clock, events
from service.core.db import db
from service.core.errors import Conflict, Invalid
from service.core.events import ReportCreated, ReportPrepared
from service.core.fields import number
from service.core.models import Report, ReportEvent
from service.photos import phone as phone_photos
from service.photos.pipeline import ProcessedPhoto, inspect, process_photos
from service.photos.staging import photo_transaction, read_uploads, stage_photos
from service.reports import deadlines, duplicates
from service.reports.location import parse_location, taken_at_aware, warnings_for
from service.rules.categories import CATEGORIES, RISK_LEVELS

MAX_DESCRIPTION = 2000
FINGERPRINT_FIELDS = ("category", "subcategory", "risk_level", "description", "lon", "lat", "crs", "location_source",
                      "accuracy_m", "contact", "address")
MAX_ADDRESS = 200
MAX_CLIENT_ID = 64


def _category(form: MultiDict) -> tuple[str, str | None, str]:
    code = (form.get("category") or "").strip()
    category = CATEGORIES.get(code)
    if category is None:
        raise Invalid("bad_category", _("隐患类别无效，请从列表中选择一个类别。"))
    sub = (form.get("subcategory") or "").strip() or None
    if sub is not None and sub not in dict(category.subtypes):
        raise Invalid("bad_subcategory", _("隐患子类无效，请从列表中选择。"))
    risk = (form.get("risk_level") or category.default_risk).strip()
    if risk not in RISK_LEVELS:
        raise Invalid("bad_risk_level", _("风险等级无效，只能是一般、较大或疑似重大。"))
    return code, sub, risk


def fingerprint(form: MultiDict, digests: list[str]) -> str:
    """Hash what a retry must repeat exactly: the fields and the photo bytes (by their SHA-256)."""
    content = {k: (form.get(k) or "").strip() for k in FINGERPRINT_FIELDS}
    content["photos"] = digests
    content.update({k: v for k in phone_photos.FIELDS if (v := form.getlist(k))})  # only when sent
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _same_reporter(reporter_id: int | None):
    # Anonymous reports share one namespace, as in the unique index uq_report_client_id.
    return db.func.coalesce(Report.reporter_id, 0) == (reporter_id or 0)


def known_client_id(reporter_id: int | None, client_report_id: str | None) -> bool:
    """Tell whether a report with this idempotency key exists (the request is a retry)."""
    return bool(client_report_id) and db.session.query(
        Report.query.filter(_same_reporter(reporter_id), Report.client_report_id == client_report_id).exists()
    ).scalar()


def existing_report(reporter_id: int | None, client_report_id: str | None, fp: str) -> Report | None:
    """Return the report an earlier try with this key created; a different content is a 409."""
    if not client_report_id:
        return None
    mine = _same_reporter(reporter_id)
    # The same content under another identity is the same report too: a phone's outbox may retry after
    # its user signed in or out. Matching content (photo bytes included) proves the sender had it.
    found = Report.query.filter(
        Report.client_report_id == client_report_id, mine | (Report.client_fingerprint == fp),
    ).order_by(mine.desc()).first()
    if found is not None and found.client_fingerprint != fp:
        raise Conflict("client_report_id_reused",
                       _("该上报编号已用于另一条内容不同的上报；如需新上报，请刷新页面后重新提交。"))
    return found


def _fields(form: MultiDict) -> tuple[str, str | None, str, str, float | None]:
    """Check the text fields: category, subcategory, risk, description and accuracy."""
    code, sub, risk = _category(form)
    description = (form.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Invalid("description_too_long", _("描述不能超过 %(n)s 字。", n=MAX_DESCRIPTION))
    return code, sub, risk, description, number(form, "accuracy_m", 0, 100_000)


def create_report(form: MultiDict, files: list[FileStorage], reporter_id: int | None = None,
                  reporter_ip: str | None = None) -> tuple[Report, bool]:
    """Create a report from a multipart upload; return (report, created).

    Cheap checks come first and the photo decode last: fields, photo headers and the location are all
    refused before any pixel is decoded, and the decode runs under ceilings (service/photos/sandbox.py).
    """
    client_id = (form.get("client_report_id") or "").strip() or None
    if client_id is not None and len(client_id) > MAX_CLIENT_ID:
        raise Invalid("bad_client_report_id", _("client_report_id 不能超过 %(n)s 个字符。", n=MAX_CLIENT_ID))
    uploads = read_uploads(files)
    digests = [hashlib.sha256(d).hexdigest() for d in uploads]
    fp = fingerprint(form, digests)
    if (found := existing_report(reporter_id, client_id, fp)) is not None:
        return found, False
    code, sub, risk, description, accuracy = _fields(form)
    resized = phone_photos.read_facts(form, len(uploads))
    headers = [phone_photos.apply(inspect(data), facts) for data, facts in zip(uploads, resized, strict=True)]
    loc = parse_location(form, headers[0])
    assigned = _assigned(loc)
    photos = phone_photos.attach(process_photos(uploads, headers, digests), resized)
    report = _new_report(form, loc, assigned, photos, code, sub, risk, description, accuracy)
    report.reporter_id, report.reporter_ip, report.client_report_id, report.client_fingerprint = (
        reporter_id, reporter_ip, client_id, fp)
    later = [e for found in events.publish(ReportPrepared(report, loc.lon, loc.lat)) for e in found or ()]
    try:
        return store_report(report, photos, later), True
    except IntegrityError:
        # A concurrent retry with the same key won the race: answer with its report.
        if (found := existing_report(reporter_id, client_id, fp)) is not None:
            return found, False
        raise


def _assigned(loc):
    assigned = assignment.assign_point(loc.lon, loc.lat)
    if assigned is None:
        message = _("该位置不在服务范围内（距最近的居村委超过 %(m)s 米），请确认定位或在地图上重新选点。",
                    m=int(assignment.max_distance()))
        raise Invalid("outside_area", message)
    return assigned


def _new_report(form: MultiDict, loc, assigned, photos: list[ProcessedPhoto], code: str, sub: str | None,
                risk: str, description: str, accuracy: float | None) -> Report:
    """The new report's row: its fields, place, committee and first deadline (reporter and key set by the caller)."""
    return Report(
        contact=(form.get("contact") or "").strip()[:100] or None,
        address=(form.get("address") or "").strip()[:MAX_ADDRESS] or None, category=code,
        subcategory=sub, risk_level=risk, description=description,
        location=from_shape(Point(loc.lon, loc.lat), srid=4326), submitted_lon=loc.submitted[0],
        submitted_lat=loc.submitted[1], submitted_crs=loc.crs, accuracy_m=accuracy, location_source=loc.source,
        taken_at=taken_at_aware(photos[0]) if photos else None, warnings=warnings_for(loc, photos, accuracy),
        duplicate_photo_of=duplicates.photo_duplicate_of(phone_photos.all_sha256(photos), [p.phash for p in photos])
        if photos else None,
        committee_id=assigned.committee_id, town_id=assigned.town_id, assignment_method=assigned.method,
        assignment_distance_m=assigned.distance_m, assigned_generation=assigned.generation, status="submitted",
        created_at=(now := clock.now()), due_at=now + deadlines.deadline(risk),  # one instant: the deadline exact
    )


def create_from_call(form: MultiDict, client_id: str, reporter_id: int | None,
                     rows: Callable[[Report], list]) -> tuple[Report, bool]:
    """Create (or find again, by client_id) a report a hotline took by phone (service/hotline): no photo, since a
    caller sends none; the position the call-taker placed; the same fields, checks, assignment, deadline and
    events as any report. rows(report) are the taking area's own rows, written in the same transaction."""
    fp = fingerprint(form, [])
    if (found := existing_report(reporter_id, client_id, fp)) is not None:
        return found, False
    code, sub, risk, description, accuracy = _fields(form)
    loc = parse_location(form, None)
    report = _new_report(form, loc, _assigned(loc), [], code, sub, risk, description, accuracy)
    report.reporter_id, report.client_report_id, report.client_fingerprint = reporter_id, client_id, fp
    later = [e for found in events.publish(ReportPrepared(report, loc.lon, loc.lat)) for e in found or ()]
    try:
        return store_report(report, [], later, rows(report)), True
    except IntegrityError:
        if (found := existing_report(reporter_id, client_id, fp)) is not None:
            return found, False
        raise


def store_report(report: Report, photos: list[ProcessedPhoto], later_events: list[ReportEvent] = (),
                 rows: list = ()) -> Report:
    """Insert the report, its photos, its first event (then later_events), the caller's own rows and what its
    subscribers write (the town's notification) in one transaction."""
    with photo_transaction() as batch:
        db.session.add(report)
        db.session.add_all(rows)
        event = ReportEvent(report=report, from_status=None, to_status="submitted", kind="transition",
                            actor_id=report.reporter_id, note="", data={})
        db.session.add(event)
        for later in later_events:
            later.report = report
            db.session.add(later)
        stage_photos(report, photos, batch, event=event)
        db.session.flush()
        events.publish(ReportCreated(report, event))
    return report
