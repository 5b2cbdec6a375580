"""Transfer (转派): a report handed to the body that owns it, delivered through the outbox, ended when the body
finishes or returns it, or the town takes it back.

The move itself is the workflow's (`transferred` in service/rules/workflow.py, made by reports.moves.move): this
module states what it needs (prepare: an active body that takes the category, and a reason) and, subscribed to
ReportMoved, opens and ends the transfer row in the same transaction.

Delivery is an outbox row caused by the transfer's event, so it is written with the move or not at all, and retried
with the outbox's backoff while the channel is down. An Open311 body gets a POST to its `requests.json` (deliver),
with an Idempotency-Key naming the transfer: a retry after a lost answer (a worker killed between the POST and its
commit) finds the same request again rather than making a second. The body's service_request_id is stored and its
deadlines start from delivery. A webhook or e-mail body gets the worded message other areas' contacts get.
"""
import json
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from service.bodies import registry
from service.bodies.models import Body, Transfer
from service.core import clock, events, outbound
from service.core.db import db
from service.core.errors import Invalid
from service.core.models import Report, User
from service.notify import outbox
from service.photos import links
from service.reports import notices
from service.rules.categories import CATEGORIES

CHANNEL = "open311"
SUBJECT = _l("转派：请处置火灾隐患")
ANSWER_MAX = 64 << 10
HOUR = timedelta(hours=1)


def prepare(report: Report, user: User, form, note: str, data: dict) -> None:
    """What a transfer needs: an active body that takes the report's category, and why."""
    try:
        body = db.session.get(Body, int(form.get("body_id") or 0))
    except (TypeError, ValueError):
        body = None
    if body is None or not body.active:
        raise Invalid("unknown_body", _("请从列表中选择一个在用的转派单位。"))
    if report.category not in body.categories:
        raise Invalid("body_not_taking", _("“%(body)s”不受理“%(category)s”类隐患，请另选单位。",
                                           body=body.name, category=CATEGORIES[report.category].name))
    if not (note or "").strip():
        raise Invalid("reason_required", _("转派时请填写转派理由，对方单位和街镇都会看到。"))
    data.update(body_id=body.id, body_name=body.name)


def open_transfer(report_id, for_update: bool = False) -> Transfer | None:
    query = select(Transfer).where(Transfer.report_id == report_id, Transfer.ended_at.is_(None))
    return db.session.scalar(query.with_for_update() if for_update else query)


def report_moved(e: events.ReportMoved) -> None:
    """Open the transfer on a move to `transferred` and queue its delivery; end it on the move out."""
    if e.to_status == "transferred":
        body = db.session.get(Body, e.event.data["body_id"])
        transfer = Transfer(report_id=e.report.id, body_id=body.id, event_id=e.event.id, created_at=e.event.created_at)
        db.session.add(transfer)
        db.session.flush()
        if body.channel == CHANNEL:
            outbox.enqueue_worded([(CHANNEL, str(body.id))], str(SUBJECT), "", {"transfer_id": transfer.id,
                                                                                "report_id": str(e.report.id)},
                                  event=e.event)
        else:
            notices.enqueue(e.event, e.report, [(body.channel, body.endpoint)], SUBJECT)
    elif e.from_status == "transferred" and (transfer := open_transfer(e.report.id, for_update=True)):
        transfer.ended_at = e.event.created_at
        transfer.outcome = ("finished" if e.to_status == "rectified"
                            else "returned" if e.event.data.get("returned_by_body") else "recalled")


def _form(transfer: Transfer, report: Report, body: Body) -> dict:
    point = to_shape(report.location)
    before = next((p.public_key for p in report.photos if p.role == "before"), None)
    return {"api_key": body.credential, "jurisdiction_id": body.jurisdiction_id,
            "service_code": registry.service_code(body, report.category),
            "lat": f"{point.y:.7f}", "long": f"{point.x:.7f}", "description": report.description or "",
            "address_string": report.address or "", "media_url": links.signed_url(before) if before else ""}


def _service_request_id(answer: outbound.Answer) -> str:
    """The service_request_id of a GeoReport v2 POST answer (JSON), else ValueError."""
    data = json.loads(answer.body.decode("utf-8"))
    first = data[0] if isinstance(data, list) and data else None
    rid = first.get("service_request_id") if isinstance(first, dict) else None
    if not isinstance(rid, str | int) or not str(rid).strip() or len(str(rid)) > 100:
        raise ValueError("the answer has no service_request_id")
    return str(rid)


def deliver(target: str, payload: dict) -> str:
    """POST the transferred report to its Open311 body (the outbox's sender for channel open311)."""
    transfer = db.session.get(Transfer, payload["transfer_id"])
    body, report = transfer.body, db.session.get(Report, transfer.report_id)
    if transfer.remote_id is not None:
        return f"already delivered as {transfer.remote_id}"
    answer = outbound.request(
        "POST", f"{body.endpoint}/requests.json", body=urlencode(_form(transfer, report, body)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Idempotency-Key": f"hazard-snap-transfer-{transfer.id}"},
        timeout=current_app.config["NOTIFY_TIMEOUT_S"], max_bytes=ANSWER_MAX, redirects=0)
    if not 200 <= answer.status < 300:
        raise outbound.OutboundError(f"HTTP {answer.status}: {answer.body[:200].decode('utf-8', 'replace')}")
    remote_id, now = _service_request_id(answer), clock.now()
    transfer.remote_id, transfer.delivered_at = remote_id, now
    transfer.sign_due_at = now + body.sign_hours * HOUR
    transfer.finish_due_at = now + body.finish_hours * HOUR
    return f"HTTP {answer.status}: service_request_id {remote_id}"


def delivery_state(report_id) -> dict | None:
    """The open transfer of a report as its pages show it: the body, and whether it has been delivered."""
    transfer = open_transfer(report_id)
    if transfer is None:
        return None
    return {"body": transfer.body.name, "delivered": transfer.delivered_at is not None or
            transfer.body.channel != CHANNEL, "remote_id": transfer.remote_id,
            "sign_due_at": transfer.sign_due_at, "finish_due_at": transfer.finish_due_at}
