"""Map hazard reports to Open311 service requests and back.

Taking a request in (POST requests): it goes through the native intake (service.reports.intake), the same
checks, photo pipeline, assignment and deadlines as /api/v1/reports:
- service_code is the category; attribute[subcategory] and attribute[risk_level] the native fields;
- lat/long are WGS-84 (the spec's datum), sent as the device's position; address_string is the address;
- email and phone are kept as the report's private contact (never shown again); first/last name are dropped;
- the photo is required, as in the native intake: an evidence photo is what makes a report actionable, and
  the photo's EXIF GPS may locate it. It comes as a multipart file field `media` (1 to 3 files), or as a
  `media_url` on a host of the allow-list OPEN311_MEDIA_HOSTS (service.open311.media; empty by default, so
  no outbound request is made for a caller: no SSRF). Any other media_url with no upload is a 400 that says
  to upload the file; when both are sent the upload is used and the URL ignored;
- idempotency: an `Idempotency-Key` header (up to 64 characters) is the native client_report_id, so a retry
  returns the first request's id; that key is also the token `tokens/{token}` resolves;
- api_key is an integration's key (hazard-snap apikeys create --name … --area CODE: stored as SHA-256, scoped
  to its area like a user of that level, good for /open311/ only) or any account's bearer API token; posts
  are limited per key (settings OPEN311_KEY_PER_MINUTE, OPEN311_KEY_PER_HOUR). Without one a request is
  taken only when PUBLIC_REPORTS is on, under the same per-address attempt limit as the native anonymous report.

Showing requests: see service.open311.queries for who sees which rows; a row is shown in full only to a
caller whose scope covers it, otherwise in its public form (no description, address, contact or photo;
location snapped to a ~100 m grid; status notes without staff notes).
"""
from flask import current_app, url_for
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape
from werkzeug.datastructures import FileStorage, MultiDict

from service.core.errors import Forbidden, Malformed
from service.core.models import Report, ReportEvent, User
from service.hotline import orders
from service.open311 import media as open311_media
from service.open311 import queries
from service.open311.formats import w3c
from service.open311.services import check_codes
from service.photos import links
from service.reports import attempts, intake
from service.rules.categories import CATEGORIES, RISK_LEVELS
from service.rules.workflow import CLOSED, STATUS_LABELS

PUBLIC_DECIMALS = 3  # 0.001 degree: about 110 m north-south, 95 m east-west in Shanghai
# FixMyStreet's update statuses, for the servicerequestupdates extension.
UPDATE_STATUSES = {
    "submitted": "open", "accepted": "investigating", "dispatched": "action_scheduled",
    "rectifying": "in_progress", "rectified": "in_progress", "verified": "fixed",
    "rejected": "no_further_action", "duplicate": "duplicate", "transferred": "in_progress",
}


def open_or_closed(status: str) -> str:
    return "closed" if status in CLOSED else "open"


def native_form(form: MultiDict, idempotency_key: str | None) -> MultiDict:
    """The native intake's form fields for an Open311 POST."""
    contact = " ".join(v for v in ((form.get("email") or "").strip(), (form.get("phone") or "").strip()) if v)
    fields = {
        "category": form.get("service_code") or "",
        "subcategory": form.get("attribute[subcategory]") or "",
        "risk_level": form.get("attribute[risk_level]") or "",
        "description": form.get("description") or "",
        "address": form.get("address_string") or "",
        "lon": form.get("long") or "", "lat": form.get("lat") or "", "crs": "wgs84", "location_source": "device",
        "contact": contact, "client_report_id": idempotency_key or "",
    }
    return MultiDict({k: v for k, v in fields.items() if v})


def _limit_key(caller: User) -> None:
    cfg = current_app.config  # per key: one integration's burst does not use up another's
    attempts.admit(f"api_key:{caller.id}", (cfg["OPEN311_KEY_PER_MINUTE"], cfg["OPEN311_KEY_PER_HOUR"]))


def take_order(hotline, form: MultiDict, caller: User) -> tuple[Report, bool]:
    """A hotline's work order, posted with its own key (service.hotline): attribute[order_no] names it (a retry
    with the same number finds it again), attribute[sign_by] and attribute[reply_by] are its deadlines; no photo
    is needed, as a caller sends none, and lat/long are where the call-taker placed it."""
    order_no = orders.check_number(form.get("attribute[order_no]"))
    sign_by, reply_by = queries.when(form, "attribute[sign_by]"), queries.when(form, "attribute[reply_by]")
    if orders.find(hotline, order_no) is None:
        _limit_key(caller)
    native = native_form(form, None)
    native["location_source"] = "map"
    return orders.take(hotline, order_no, native, sign_by, reply_by)


def create(form: MultiDict, media: list[FileStorage], caller: User | None, addr: str,
           idempotency_key: str | None) -> tuple[Report, bool]:
    """Create (or find again, for a retry) the report of an Open311 POST; a hotline's key posts its orders."""
    check_codes(form.get("service_code") or "-")  # a missing code is as unknown as a wrong one
    if (hotline := orders.hotline_of(caller)) is not None:
        return take_order(hotline, form, caller)
    media = [f for f in media if f and f.filename is not None]
    if not media and not form.get("media_url"):
        raise Malformed("media_missing", _("请以 multipart 文件字段 media 上传至少一张隐患照片。"))
    if not media and not open311_media.allowed(form["media_url"]):
        open311_media.fetch(form["media_url"])  # refuses, saying why, before anything is counted
    native = native_form(form, idempotency_key)
    if caller is None and not intake.known_client_id(None, idempotency_key):  # a retry is never rate-limited
        if not current_app.config["PUBLIC_REPORTS"]:
            raise Forbidden("api_key_required", _("本服务不接受匿名上报，请提供有效的 api_key。"))
        attempts.admit(addr)
    elif caller is not None and not intake.known_client_id(caller.id, idempotency_key):
        _limit_key(caller)
    if not media:  # fetched only now: a refused or rate-limited caller makes us fetch nothing
        media = [open311_media.fetch(form["media_url"])]
    return intake.create_report(native, media, reporter_id=caller.id if caller else None, reporter_ip=addr)


def created(report: Report) -> dict:
    """The POST answer for one report."""
    return {"service_request_id": str(report.id), "service_notice": service_notice(report), "account_id": None}


def service_notice(report: Report) -> str:
    if report.status in CLOSED or report.due_at is None:
        return ""
    return _("由%(agency)s处置，风险等级“%(risk)s”，应于 %(due)s 前完成整改。", agency=report.committee.name,
             risk=RISK_LEVELS[report.risk_level], due=w3c(report.due_at))


def _last_note(report: Report) -> str:
    notes = [e.note for e in report.events if e.kind == "transition" and e.note]
    return notes[-1] if notes else ""


def status_notes(report: Report, full: bool) -> str:
    """The Chinese status label, and for a caller in scope the last note a transition carried."""
    label, note = str(STATUS_LABELS[report.status]), _last_note(report) if full else ""
    return f"{label}：{note}" if note else label


def _photo_url(photos, role: str) -> str:
    key = next((p.public_key for p in photos if p.role == role), None)
    return url_for("photos.serve", key=key, _external=True) if key else ""


def service_request(report: Report, full: bool) -> dict:
    """One report as an Open311 service request: in full, or in its public form."""
    point = to_shape(report.location)
    decimals = 7 if full else PUBLIC_DECIMALS
    return {
        "service_request_id": str(report.id),
        "status": open_or_closed(report.status),
        "status_notes": status_notes(report, full),
        "service_name": str(CATEGORIES[report.category].name),
        "service_code": report.category,
        "description": report.description if full else "",
        "agency_responsible": report.committee.name,
        "service_notice": service_notice(report),
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(report.updated_at),
        "expected_datetime": w3c(report.due_at),
        "address": (report.address or "") if full else "",
        "address_id": "",
        "zipcode": "",
        "lat": round(point.y, decimals),
        "long": round(point.x, decimals),
        "media_url": _photo_url(report.photos, "before") if full else "",
    }


def request_update(event: ReportEvent, full: bool) -> dict:
    """One status change as a FixMyStreet request_update."""
    label = str(STATUS_LABELS[event.to_status])
    return {
        "update_id": str(event.id),
        "service_request_id": str(event.report_id),
        "status": UPDATE_STATUSES[event.to_status],
        "updated_datetime": w3c(event.created_at),
        "description": f"{label}：{event.note}" if full and event.note else label,
        "media_url": _update_photo(event) if full else "",
    }


def _update_photo(event: ReportEvent) -> str:
    """The after-photo of an update, as a signed link a system without a session here can fetch (photos.links):
    the rectification's own photo, and on verification (fixed) the photo that was verified."""
    photos = event.photos or (event.report.photos if event.to_status == "verified" else [])
    key = next((p.public_key for p in reversed(photos) if p.role == "after"), None)
    return links.signed_url(key) if key else ""
