"""The answer (答复) to the hotline when an order's report closes: verified, rejected, a duplicate, or returned.

The answer is an outbox row caused by the closing move's event, so it is written with the move or not at all, sent
once and retried with the outbox's backoff while the hotline is down. A re-check (复核) that closes the report again
sends a second answer, for that event. It carries the outcome, the committee that handled it, the dates and, for a
verified report, a signed link to its after-photo (service.photos.links).

- An Open311 hotline gets a POST to its `servicerequestupdates.json` (FixMyStreet's update extension: the order
  number as service_request_id, our event as update_id, the status in FixMyStreet's words), with an
  Idempotency-Key naming the event, so a retry after a lost answer is seen as the same update.
- A webhook or e-mail hotline gets the same answer worded, as other areas' contacts get their messages.
"""
from urllib.parse import urlencode

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from service.bodies.models import Body
from service.core import localtime, outbound
from service.core.db import db
from service.core.models import Report, ReportEvent
from service.hotline.models import HotlineOrder
from service.notify import outbox
from service.photos import links

CHANNEL = "hotline"
SUBJECT = _l("工单答复")
ANSWER_MAX = 64 << 10
OUTCOMES = {"verified": _l("已办结（整改已核查）"), "rejected": _l("不予受理"), "duplicate": _l("重复工单，已并案办理"),
            "returned": _l("退回：非本单位职责")}
# FixMyStreet's update statuses, as the hotline's Open311 side reads them.
UPDATE_STATUS = {"verified": "fixed", "rejected": "no_further_action", "duplicate": "duplicate",
                 "returned": "not_councils_responsibility"}


def outcome_of(event: ReportEvent) -> str:
    return "returned" if event.data.get("hotline_return") else event.to_status


def after_photo_link(report: Report) -> str:
    key = next((p.public_key for p in reversed(report.photos) if p.role == "after" and p.public_key), None)
    return links.signed_url(key) if key else ""


def answer_text(order: HotlineOrder, report: Report, event: ReportEvent, outcome: str) -> str:
    """The answer as the hotline's operator reads it, in Chinese."""
    with force_locale("zh_CN"):
        text = _("【火患随手拍】工单 %(no)s 答复：%(outcome)s。责任单位：%(committee)s（%(town)s）。"
                 "受理时间：%(received)s；办结时间：%(closed)s。",
                 no=order.order_no, outcome=OUTCOMES[outcome], committee=report.committee.name,
                 town=report.town.name, received=localtime.show(order.received_at),
                 closed=localtime.show(event.created_at))
        if event.note:
            text += _("说明：%(note)s。", note=event.note)
        if outcome == "verified" and (link := after_photo_link(report)):
            text += _("整改后照片：%(link)s", link=link)
    return text


def enqueue(order: HotlineOrder, report: Report, event: ReportEvent) -> None:
    """Queue the answer for this closing move, in its transaction."""
    body, outcome = order.body, outcome_of(event)
    text = answer_text(order, report, event, outcome)
    ref = {"report_id": str(report.id), "event_id": event.id, "order_no": order.order_no, "outcome": outcome}
    contact = (CHANNEL, str(body.id)) if body.channel == "open311" else (body.channel, body.endpoint)
    outbox.enqueue_worded([contact], str(SUBJECT), text, ref, event=event)
    order.replies += 1
    order.replied_at = order.replied_at or event.created_at


def _form(body: Body, order: HotlineOrder, report: Report, event: ReportEvent, payload: dict) -> dict:
    outcome = payload["outcome"]
    return {"api_key": body.credential, "jurisdiction_id": body.jurisdiction_id,
            "service_request_id": order.order_no, "update_id": f"hazard-snap-{event.id}",
            "status": UPDATE_STATUS[outcome], "updated_datetime": localtime.w3c(event.created_at),
            "description": payload["text"], "agency_responsible": report.committee.name,
            "media_url": after_photo_link(report) if outcome == "verified" else ""}


def deliver(target: str, payload: dict) -> str:
    """POST the answer to the hotline's Open311 endpoint (the outbox's sender for channel `hotline`)."""
    body = db.session.get(Body, int(target))
    order = db.session.get(HotlineOrder, payload["report_id"])
    report, event = db.session.get(Report, order.report_id), db.session.get(ReportEvent, payload["event_id"])
    answer = outbound.request(
        "POST", f"{body.endpoint}/servicerequestupdates.json",
        body=urlencode(_form(body, order, report, event, payload)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Idempotency-Key": f"hazard-snap-reply-{event.id}"},
        timeout=current_app.config["NOTIFY_TIMEOUT_S"], max_bytes=ANSWER_MAX, redirects=0)
    if not 200 <= answer.status < 300:
        raise outbound.OutboundError(f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}")
    return f"HTTP {answer.status}: answer to order {order.order_no}"
