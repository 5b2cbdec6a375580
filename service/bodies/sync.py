"""`hazard-snap bodies sync`: fetch each Open311 body's updates and apply them as events.

- Read from servicerequestupdates.json, or, for a body registered with `--sync-via requests` (its server has no
  updates endpoint), from requests.json for the requests it holds for us, each state read as an update
  (_as_update).

- Safe on several nodes at once: a body's updates are fetched by one node at a time (its row locked FOR UPDATE
  SKIP LOCKED), and each update is written in the transaction of its effect together with its body_update row,
  whose (body, update id) is unique: a replayed update, a sync killed mid-run and run again, or two nodes racing
  apply it once. Sign-fors are committed BATCH at a time; a move commits on its own.
- Mapping: open is the body having taken the request in; investigating / action_scheduled / in_progress is
  the body's sign-for (签收); fixed is the body's rectification (transferred -> rectified, its media_url
  fetched and stored like any photo, then verified by the town as any other); no_further_action / duplicate
  is a return (退回: transferred -> accepted, back to the town's dispatch queue, the town told). Anything
  else is refused.
- Refused and logged, never applied: an update for a request the body does not hold for us, a move the transition
  table does not allow (a body finishing a report it returned), a malformed update, a photo that fails the checks.
- Bounded: every request goes through service.core.outbound (its timeout bounds the whole answer, its size cap the
  memory); a body that answers slowly, with 500 or with malformed JSON costs one bounded try and is left for the
  next run, and other bodies are synced meanwhile.
"""
import io
import json
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from werkzeug.datastructures import FileStorage

from service.bodies.models import Body, BodyUpdate, Transfer
from service.core import clock, localtime, outbound
from service.core.db import db
from service.core.errors import ApiError
from service.core.models import Report, ReportEvent
from service.photos.pipeline import process_uploads
from service.photos.staging import read_uploads
from service.reports import moves
from service.rules.workflow import BODY

PAGE = 200
ANSWER_MAX = 4 << 20  # 200 updates of a few hundred bytes each, with room
OVERLAP = timedelta(minutes=10)  # re-read a little before the cursor: an update stamped late is not missed
SIGNED = frozenset({"investigating", "action_scheduled", "in_progress"})
RETURNED = frozenset({"no_further_action", "duplicate"})
RECEIVED = frozenset({"open"})  # taken in, not yet signed for
MOVING = frozenset({"fixed"}) | RETURNED  # updates that move the report (and commit with it)
BATCH = 200  # updates that do not move the report, committed together


class BadAnswer(Exception):
    """A body's answer that is not a list of updates."""


def _get(body: Body, resource: str, params: dict) -> list[dict]:
    """GET one of the body's GeoReport v2 lists (servicerequestupdates or requests) with its key, bounded."""
    query = urlencode({"api_key": body.credential, "jurisdiction_id": body.jurisdiction_id} | params)
    answer = outbound.request("GET", f"{body.endpoint}/{resource}.json?{query}",
                              timeout=current_app.config["NOTIFY_TIMEOUT_S"], max_bytes=ANSWER_MAX, redirects=0)
    if answer.status != 200:
        raise outbound.OutboundError(f"HTTP {answer.status}")
    try:
        data = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadAnswer(f"not JSON: {e}") from None
    if not isinstance(data, list) or not all(isinstance(u, dict) for u in data):
        raise BadAnswer(f"not a list of {resource}")
    return data


def _fetch_updates(body: Body, start: datetime) -> list[dict]:
    """Every update since `start`, a page at a time (servicerequestupdates.json)."""
    sent, page = [], 1
    while True:
        found = _get(body, "servicerequestupdates", {"start_date": localtime.w3c(start), "page_size": PAGE,
                                                     "page": page})
        sent.extend(found)
        if len(found) < PAGE:
            return sent
        page += 1


def _as_update(request: dict) -> dict:
    """A request as requests.json lists it, read as the update it implies, with an id of (request, state) so
    each state is applied once: closed with a media_url is fixed; closed without one cannot be rectification
    (there is no after-photo to verify), so it returns the report to the town with the body's notes; open and
    touched since it was made (updated_datetime later than requested_datetime) is the body's sign-for; open
    and untouched is received. Any other status is passed on, and refused as unmapped."""
    rid, status = request.get("service_request_id"), request.get("status")
    touched, made = _when(request.get("updated_datetime")), _when(request.get("requested_datetime"))
    if status == "closed":
        status = "fixed" if request.get("media_url") else "no_further_action"
    elif status == "open":
        status = "in_progress" if touched and made and touched > made else "open"
    note = request.get("status_notes") or (_("对方已关闭该请求，但没有附整改后照片，请街镇核实。")
                                           if status == "no_further_action" else "")
    return {"update_id": f"request:{rid}:{status}", "service_request_id": rid, "status": status,
            "description": note, "updated_datetime": request.get("updated_datetime") or request.get(
                "requested_datetime"), "media_url": request.get("media_url")}


def _fetch_requests(body: Body) -> list[dict]:
    """The requests the body holds for us and has not finished or returned, PAGE ids to a GET (requests.json
    takes service_request_id as a comma-separated list), read as updates (_as_update)."""
    sent, after = [], 0
    while True:
        rows = db.session.execute(select(Transfer.id, Transfer.remote_id).where(
            Transfer.body_id == body.id, Transfer.ended_at.is_(None), Transfer.remote_id.is_not(None),
            Transfer.id > after).order_by(Transfer.id).limit(PAGE)).all()
        if not rows:
            return sent
        found = _get(body, "requests", {"service_request_id": ",".join(r.remote_id for r in rows)})
        sent.extend(_as_update(r) for r in found)
        after = rows[-1].id


def _when(raw) -> datetime | None:
    try:
        return localtime.attach(datetime.fromisoformat(str(raw)))
    except (TypeError, ValueError):
        return None


def _photo(body: Body, url: str) -> list:
    """The body's after-photo at media_url, fetched from the body's own host only, then checked and decoded under
    the same ceilings as an upload (process_uploads)."""
    ours, theirs = urlsplit(body.endpoint), urlsplit(url)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        raise ValueError("media_url is not on the body's own host")
    answer = outbound.request("GET", url, timeout=current_app.config["NOTIFY_TIMEOUT_S"],
                              max_bytes=current_app.config["MAX_PHOTO_BYTES"], redirects=0)
    if answer.status != 200:
        raise outbound.OutboundError(f"media_url: HTTP {answer.status}")
    return process_uploads(read_uploads([FileStorage(io.BytesIO(answer.body), filename="after.jpg")]))


def _apply(body: Body, transfer: Transfer, update: dict, mark) -> tuple[str, str]:
    """Apply one update to its transfer's report: (outcome, detail). A move commits (with its photos), so its
    body_update row is marked first and commits with it: the move and the record of it are one transaction."""
    status, note = update.get("status"), str(update.get("description") or "")[:1000]
    report = db.session.get(Report, transfer.report_id, with_for_update=True)
    data = {"body_id": body.id, "body_name": body.name, "update_id": str(update["update_id"])}
    if status in RECEIVED:
        return "noted", "received"
    if status in SIGNED:
        if transfer.signed_at is not None:
            return "noted", "signed for already"
        transfer.signed_at = _when(update.get("updated_datetime")) or clock.now()
        db.session.add(ReportEvent(report=report, kind="body_signed", from_status=report.status,
                                   to_status=report.status, actor_label=body.name, note=note, data=data))
        return "noted", "signed for"
    if status == "fixed":
        url = update.get("media_url") or ""
        if not url:
            return "refused", "fixed without an after-photo (media_url)"
        photos = _photo(body, url)
        mark("applied", "finished")
        moves.move_by(BODY, report, "rectified", body.name, note, photos, data)
        return "applied", "finished"
    if status in RETURNED:
        mark("applied", "returned")
        moves.move_by(BODY, report, "accepted", body.name, note, [], data | {"returned_by_body": True})
        return "applied", "returned"
    return "refused", f"status {status!r} is not one this service maps"


def apply_update(body: Body, update: dict) -> str | None:
    """Apply one update exactly once with its body_update row; None when it was seen before. The caller commits
    (a batch of sign-fors at a time); an update that moves the report commits itself, and the caller commits what
    came before it first, so a refused move rolls back nothing else."""
    uid, rid = str(update.get("update_id") or ""), str(update.get("service_request_id") or "")
    if not uid or len(uid) > 100:
        current_app.logger.warning("body %s sent an update without a usable update_id: refused", body.id)
        return "refused"
    row = db.session.execute(insert(BodyUpdate).values(body_id=body.id, update_id=uid, outcome="refused",
                                                       received_at=clock.now())
                             .on_conflict_do_nothing().returning(BodyUpdate.id)).scalar()
    if row is None:  # seen before: the insert wrote nothing
        return None
    transfer = db.session.scalar(select(Transfer).where(Transfer.body_id == body.id, Transfer.remote_id == rid))

    def mark(outcome: str, detail: str) -> None:
        db.session.execute(BodyUpdate.__table__.update().where(BodyUpdate.id == row).values(
            outcome=outcome, detail=detail[:1000], transfer_id=transfer.id if transfer else None))

    if transfer is None:
        outcome, detail = "refused", f"request {rid[:100]} is not one of ours at this body"
    else:
        try:
            outcome, detail = _apply(body, transfer, update, mark)
        except (ApiError, ValueError, outbound.OutboundError) as e:
            db.session.rollback()  # the move and its photos are not written; the update is kept as refused
            row = db.session.execute(insert(BodyUpdate).values(
                body_id=body.id, update_id=uid, outcome="refused", received_at=clock.now())
                .on_conflict_do_nothing().returning(BodyUpdate.id)).scalar()
            if row is None:
                db.session.rollback()
                return None
            outcome, detail = "refused", getattr(e, "message", None) or str(e)
    if outcome != "applied":  # an applied move committed its row already
        mark(outcome, detail)
    if outcome == "refused":
        current_app.logger.warning("body %s update %s refused: %s", body.id, uid, detail)
    return outcome


def sync_body(body_id: int) -> dict[str, int] | None:
    """Fetch and apply one body's updates since its cursor; None when another node is syncing it."""
    body = db.session.scalar(select(Body).where(Body.id == body_id).with_for_update(skip_locked=True))
    if body is None:
        db.session.rollback()
        return None
    oldest = db.session.scalar(select(func.min(Transfer.delivered_at)).where(
        Transfer.body_id == body.id, Transfer.delivered_at.is_not(None)))
    counts = {"applied": 0, "noted": 0, "refused": 0, "seen": 0}
    if oldest is None:
        db.session.rollback()
        return counts
    start = (body.sync_cursor or oldest) - OVERLAP
    latest, name = body.sync_cursor, body.name
    # OutboundError / BadAnswer: the caller logs it, the cursor stays
    sent = _fetch_requests(body) if body.sync_via == "requests" else _fetch_updates(body, start)
    db.session.commit()  # the body's row lock ends here: updates are applied one transaction each
    body = db.session.get(Body, body_id)
    for i, update in enumerate(sent, 1):
        if update.get("status") in MOVING:
            db.session.commit()  # what came before is kept, whatever this move does
        outcome = apply_update(body, update)
        counts["seen" if outcome is None else outcome] += 1
        if i % BATCH == 0:
            db.session.commit()
        when = _when(update.get("updated_datetime"))
        latest = max(latest, when) if latest and when else (when or latest)
    db.session.commit()
    if latest is not None:
        db.session.execute(Body.__table__.update().where(Body.id == body_id).values(sync_cursor=latest))
        db.session.commit()
    current_app.logger.info("body %s (%s) synced: %s", body_id, name, counts)
    return counts


def sync_all() -> dict[int, dict | str]:
    """Sync every active Open311 body holding delivered transfers; one body failing never stops the others."""
    ids = db.session.scalars(select(Body.id).where(Body.active, Body.channel == "open311").order_by(Body.id)).all()
    db.session.rollback()
    results = {}
    for body_id in ids:
        try:
            results[body_id] = sync_body(body_id) or "synced by another node"
        except (outbound.OutboundError, BadAnswer) as e:
            db.session.rollback()
            current_app.logger.warning("body %s not synced: %s", body_id, e)
            results[body_id] = f"not synced: {e}"
    return results
